package io.weightpub.publisher;

import io.weightpub.publisher.internal.BrokerSettings;
import io.weightpub.publisher.internal.TransactionTimeouts;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.signing.RecordSigner;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Publishes versions of a model's weights to Kafka: every chunk of every bucket to
 * {@code <prefix>.chunks}, then the manifest to {@code <prefix>.manifests}. The producer is
 * idempotent with {@code acks=all}. Without transactions the manifest is sent only after every
 * chunk is acknowledged, so a consumer that sees a manifest can find all its chunks; with
 * transactions the whole version is one Kafka transaction, so {@code read_committed} consumers
 * see all of it or nothing; each version's {@code transaction.timeout.ms} is sized from its bytes
 * (see {@link PublisherOptions#TRANSACTION_MIN_THROUGHPUT}). One publish runs at a time; a
 * publisher is meant to live as long as the trainer. With a signing key every manifest is signed
 * (Ed25519, key id and signature in the manifest), so jobs and workers configured with its public
 * key can prove where a version came from.
 */
public final class WeightPublisher implements AutoCloseable {

    /** Room for the record's key, Avro fields and batch header around a chunk payload. */
    static final int RECORD_OVERHEAD_BYTES = 64 * 1024;
    static final int KAFKA_DEFAULT_MAX_REQUEST_SIZE = 1024 * 1024;
    static final long KAFKA_DEFAULT_BUFFER_MEMORY = 32L * 1024 * 1024;
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

    private final TopicNames topics;
    private final long bucketSizeBytes;
    private final int chunkSizeBytes;
    private final boolean transactional;
    private final Map<String, Object> producerConfig;
    private final PublishProgressListener listener;
    private final RecordSigner signer;
    /** Whether the user set {@code transaction.timeout.ms}: then it is used as is, never sized. */
    private final boolean explicitTransactionTimeout;
    private final long minThroughput;
    /** The brokers' {@code transaction.max.timeout.ms}: the option, else read from a broker when first needed. */
    private Duration maxTransactionTimeout;
    private KafkaProducer<byte[], byte[]> producer;
    /** The {@code transaction.timeout.ms} the current producer registered with the coordinator. */
    private Duration producerTransactionTimeout;
    private boolean closed;

    WeightPublisher(WeightPublisherBuilder b) {
        this.topics = TopicNames.of(b.topicPrefix);
        this.bucketSizeBytes = b.bucketSizeBytes;
        this.chunkSizeBytes = b.chunkSizeBytes;
        this.transactional = b.transactional;
        this.producerConfig = Map.copyOf(b.producerConfig());
        this.listener = b.listener;
        this.signer = b.signingKey == null ? null : new RecordSigner(b.signingKey);
        this.explicitTransactionTimeout = producerConfig.containsKey(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG);
        this.minThroughput = b.minThroughput;
        this.maxTransactionTimeout = b.maxTransactionTimeout;
        this.producer = newProducer(TransactionTimeouts.KAFKA_DEFAULT);
    }

    public static WeightPublisherBuilder builder() {
        return new WeightPublisherBuilder();
    }

    public TopicNames topics() {
        return topics;
    }

    public boolean transactional() {
        return transactional;
    }

    /** The id of the key that signs manifests, or empty when they are unsigned. */
    public java.util.Optional<String> signingKeyId() {
        return java.util.Optional.ofNullable(signer).map(RecordSigner::keyId);
    }

    /** The effective producer configuration (what the builder set plus the publisher's own). */
    public Map<String, Object> producerConfig() {
        return producerConfig;
    }

    /** Opens, validates and publishes a safetensors checkpoint (file or directory), then closes it. */
    public PublishResult publish(String modelId, long step, Path checkpoint) throws IOException {
        try (SafetensorsCheckpoint opened = SafetensorsCheckpoint.open(checkpoint)) {
            return publish(modelId, step, opened);
        }
    }

    public PublishResult publish(String modelId, long step, SafetensorsCheckpoint checkpoint) {
        return publish(modelId, step, checkpoint.tensors());
    }

    /**
     * Publishes one version. Returns once the manifest is acknowledged (and, transactional, the
     * transaction committed).
     *
     * @throws IllegalArgumentException when the arguments cannot form a version (nothing is sent)
     * @throws PublishException when sending fails or a tensor cannot be read; no manifest was sent
     */
    public synchronized PublishResult publish(String modelId, long step, List<? extends TensorSource> tensors) {
        if (closed) {
            throw new IllegalStateException("publisher is closed");
        }
        PublishEncoder encoder = PublishEncoder.builder()
                .modelId(modelId)
                .step(step)
                .tensors(tensors)
                .bucketSizeBytes(bucketSizeBytes)
                .chunkSizeBytes(chunkSizeBytes)
                .build();
        long startNanos = System.nanoTime();
        Duration timeout = transactional ? sizeTransaction(encoder) : null;
        if (producer == null) {
            producer = newProducer(timeout);
        }
        PublishResult result;
        try {
            result = send(encoder, startNanos);
        } catch (RuntimeException | ExecutionException | InterruptedException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            discardProducer(e);
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new PublishException(modelId, step, encoder.publishId(),
                    (transactional ? "transaction aborted: " : "manifest not sent: ") + cause.getMessage()
                            + timedOutHint(timeout, startNanos), cause);
        }
        listener.onComplete(result);
        return result;
    }

    /**
     * The transaction timeout this version needs; fails before anything is sent when the brokers
     * do not allow it, and replaces the producer when the current one's timeout is too short.
     */
    private Duration sizeTransaction(PublishEncoder encoder) {
        if (explicitTransactionTimeout) {
            return producerTransactionTimeout;
        }
        long bytes = encoder.totalBytes();
        if (maxTransactionTimeout == null) {
            maxTransactionTimeout = BrokerSettings.transactionMaxTimeout(producerConfig);
        }
        String tooLarge = TransactionTimeouts.tooLargeReason(bytes, minThroughput, maxTransactionTimeout);
        if (tooLarge != null) {
            throw new PublishException(encoder.modelId(), encoder.step(), encoder.publishId(), tooLarge, null);
        }
        Duration needed = TransactionTimeouts.needed(bytes, minThroughput);
        if (producer != null && needed.compareTo(producerTransactionTimeout) > 0) {
            // The timeout is registered when the producer initialises its transactions: a new one is needed.
            producer.close(CLOSE_TIMEOUT);
            producer = null;
        }
        return producer == null ? needed : producerTransactionTimeout;
    }

    /** Why a transactional publish that ran past its timeout failed; Kafka reports it only as a stale epoch. */
    private String timedOutHint(Duration timeout, long startNanos) {
        Duration ran = Duration.ofNanos(System.nanoTime() - startNanos);
        return timeout == null ? "" : TransactionTimeouts.timedOutHint(ran, timeout, explicitTransactionTimeout);
    }

    private PublishResult send(PublishEncoder encoder, long startNanos)
            throws ExecutionException, InterruptedException {
        AtomicReference<Exception> failure = new AtomicReference<>();
        AtomicLong acked = new AtomicLong();
        if (transactional) {
            producer.beginTransaction();
        }
        long bytesSent = 0;
        long chunksSent = 0;
        for (Iterator<WeightChunk> chunks = encoder.chunks(); chunks.hasNext(); ) {
            throwIfFailed(failure);
            WeightChunk chunk = chunks.next();
            int size = chunk.getPayload().remaining();
            producer.send(PublishRecords.chunkRecord(topics, chunk), (metadata, e) -> {
                if (e != null) {
                    failure.compareAndSet(null, e);
                } else {
                    acked.addAndGet(size);
                }
            });
            bytesSent += size;
            chunksSent++;
            listener.onProgress(progress(encoder, bytesSent, acked.get(), chunksSent, startNanos));
        }
        if (!transactional) {
            // Without a transaction the manifest must not overtake a chunk that could still fail.
            producer.flush();
        }
        throwIfFailed(failure);
        VersionManifest manifest = signer == null ? encoder.manifest() : signer.sign(encoder.manifest());
        Future<RecordMetadata> manifestSent = producer.send(PublishRecords.manifestRecord(topics, manifest));
        if (transactional) {
            producer.commitTransaction();
        }
        manifestSent.get();
        throwIfFailed(failure);
        listener.onProgress(progress(encoder, bytesSent, acked.get(), chunksSent, startNanos));
        return new PublishResult(manifest, chunksSent, Duration.ofNanos(System.nanoTime() - startNanos));
    }

    private static void throwIfFailed(AtomicReference<Exception> failure) {
        Exception e = failure.get();
        if (e != null) {
            throw e instanceof KafkaException ke ? ke : new KafkaException(e);
        }
    }

    private static PublishProgress progress(
            PublishEncoder encoder, long bytesSent, long bytesAcked, long chunksSent, long startNanos) {
        return new PublishProgress(encoder.modelId(), encoder.step(), encoder.publishId(), bytesSent, bytesAcked,
                encoder.totalBytes(), chunksSent, encoder.chunkCount(),
                Duration.ofNanos(System.nanoTime() - startNanos));
    }

    /**
     * After a failure the producer may hold a half-sent version or be fenced: abort what can be
     * aborted, then close it so the next publish starts on a fresh producer.
     */
    private void discardProducer(Exception failure) {
        if (producer == null) {
            return;
        }
        if (transactional) {
            try {
                producer.abortTransaction();
            } catch (RuntimeException e) {
                failure.addSuppressed(e);
            }
        }
        try {
            producer.close(Duration.ZERO);
        } catch (RuntimeException e) {
            failure.addSuppressed(e);
        }
        producer = null;
    }

    /** A new producer; transactional, it registers {@code transactionTimeout} unless the user set one. */
    private KafkaProducer<byte[], byte[]> newProducer(Duration transactionTimeout) {
        Map<String, Object> config = producerConfig;
        if (transactional && explicitTransactionTimeout) {
            producerTransactionTimeout =
                    Duration.ofMillis(Long.parseLong(config.get(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG).toString()));
        } else if (transactional) {
            config = new LinkedHashMap<>(producerConfig);
            config.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
                    (int) Math.min(Integer.MAX_VALUE, transactionTimeout.toMillis()));
            producerTransactionTimeout = transactionTimeout;
        }
        KafkaProducer<byte[], byte[]> p =
                new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer());
        if (transactional) {
            try {
                p.initTransactions();
            } catch (RuntimeException e) {
                p.close(Duration.ZERO);
                throw e;
            }
        }
        return p;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            if (producer != null) {
                producer.close(CLOSE_TIMEOUT);
                producer = null;
            }
        }
    }
}
