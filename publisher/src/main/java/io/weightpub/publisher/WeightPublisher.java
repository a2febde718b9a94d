package io.weightpub.publisher;

import io.weightpub.publisher.internal.BrokerSettings;
import io.weightpub.publisher.internal.TransactionTimeouts;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.signing.RecordSigner;
import io.weightpub.schemas.signing.SigningKey;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
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
    private static final int KAFKA_DEFAULT_MAX_REQUEST_SIZE = 1024 * 1024;
    private static final long KAFKA_DEFAULT_BUFFER_MEMORY = 32L * 1024 * 1024;
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

    private WeightPublisher(Builder b) {
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

    public static Builder builder() {
        return new Builder();
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

    /** Settings of a publisher; {@link #build()} checks them and connects. */
    public static final class Builder {

        /** Producer settings the publisher's guarantees depend on; they cannot be overridden. */
        private static final Set<String> RESERVED = Set.of(
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
                ProducerConfig.ACKS_CONFIG,
                ProducerConfig.TRANSACTIONAL_ID_CONFIG,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);

        private String bootstrapServers;
        private String topicPrefix = PublisherOptions.TOPIC_PREFIX.defaultValue();
        private long bucketSizeBytes = PublisherOptions.BUCKET_SIZE.defaultValue();
        private int chunkSizeBytes = PublisherOptions.CHUNK_SIZE.defaultValue();
        private boolean transactional = PublisherOptions.TRANSACTIONAL.defaultValue();
        private String transactionalId;
        private long minThroughput = PublisherOptions.TRANSACTION_MIN_THROUGHPUT.defaultValue();
        private Duration maxTransactionTimeout;
        private final Map<String, String> extraProducerProperties = new LinkedHashMap<>();
        private PublishProgressListener listener = PublishProgressListener.NONE;
        private SigningKey signingKey;
        private Path signingKeyFile;
        private String signingKeyId;

        private Builder() {
        }

        /** Signs every manifest with {@code key}. */
        public Builder signingKey(SigningKey key) {
            this.signingKey = Objects.requireNonNull(key, "key");
            return this;
        }

        /** Signs every manifest with the PKCS#8 PEM private key in {@code file} (read by {@link #build()}). */
        public Builder signingKeyFile(Path file) {
            this.signingKeyFile = Objects.requireNonNull(file, "file");
            return this;
        }

        /** The key id to sign with, instead of the key's own (see {@link PublisherOptions#SIGNING_KEY_ID}). */
        public Builder signingKeyId(String keyId) {
            this.signingKeyId = Objects.requireNonNull(keyId, "keyId");
            return this;
        }

        public Builder bootstrapServers(String bootstrapServers) {
            this.bootstrapServers = bootstrapServers;
            return this;
        }

        public Builder topicPrefix(String topicPrefix) {
            this.topicPrefix = topicPrefix;
            return this;
        }

        public Builder bucketSizeBytes(long bucketSizeBytes) {
            this.bucketSizeBytes = bucketSizeBytes;
            return this;
        }

        public Builder chunkSizeBytes(int chunkSizeBytes) {
            this.chunkSizeBytes = chunkSizeBytes;
            return this;
        }

        public Builder transactional(boolean transactional) {
            this.transactional = transactional;
            return this;
        }

        /** Also turns transactions on. */
        public Builder transactionalId(String transactionalId) {
            this.transactionalId = transactionalId;
            this.transactional = true;
            return this;
        }

        /**
         * Transactional only: the slowest expected send rate, which sizes each version's
         * {@code transaction.timeout.ms} (see {@link PublisherOptions#TRANSACTION_MIN_THROUGHPUT}).
         */
        public Builder transactionMinThroughput(long bytesPerSecond) {
            this.minThroughput = bytesPerSecond;
            return this;
        }

        /** Transactional only: the brokers' {@code transaction.max.timeout.ms}, instead of reading it from a broker. */
        public Builder transactionMaxTimeout(Duration maxTimeout) {
            this.maxTransactionTimeout = Objects.requireNonNull(maxTimeout, "maxTimeout");
            return this;
        }

        /** A Kafka producer setting passed through as is (TLS, SASL, tuning). */
        public Builder producerProperty(String key, String value) {
            extraProducerProperties.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, key));
            return this;
        }

        public Builder producerProperties(Map<String, String> properties) {
            properties.forEach(this::producerProperty);
            return this;
        }

        public Builder progressListener(PublishProgressListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Applies settings by their {@link PublisherOptions} keys; keys starting with
         * {@link PublisherOptions#PRODUCER_PREFIX} go to the producer. Unknown {@code publisher.}
         * keys are rejected so a typo does not silently fall back to a default.
         */
        public Builder configure(Map<String, String> settings) {
            for (Map.Entry<String, String> e : settings.entrySet()) {
                String key = e.getKey();
                String value = e.getValue().trim();
                if (key.startsWith(PublisherOptions.PRODUCER_PREFIX)) {
                    producerProperty(key.substring(PublisherOptions.PRODUCER_PREFIX.length()), value);
                } else if (key.equals(PublisherOptions.BOOTSTRAP_SERVERS.key())) {
                    bootstrapServers(value);
                } else if (key.equals(PublisherOptions.TOPIC_PREFIX.key())) {
                    topicPrefix(value);
                } else if (key.equals(PublisherOptions.BUCKET_SIZE.key())) {
                    bucketSizeBytes(ByteSize.parse(value));
                } else if (key.equals(PublisherOptions.CHUNK_SIZE.key())) {
                    chunkSizeBytes(Math.toIntExact(ByteSize.parse(value)));
                } else if (key.equals(PublisherOptions.TRANSACTIONAL.key())) {
                    transactional(parseBoolean(key, value));
                } else if (key.equals(PublisherOptions.TRANSACTIONAL_ID.key())) {
                    transactionalId(value);
                } else if (key.equals(PublisherOptions.SIGNING_KEY.key())) {
                    signingKeyFile(Path.of(value));
                } else if (key.equals(PublisherOptions.SIGNING_KEY_ID.key())) {
                    signingKeyId(value);
                } else if (key.equals(PublisherOptions.TRANSACTION_MIN_THROUGHPUT.key())) {
                    transactionMinThroughput(ByteSize.parse(value));
                } else if (key.equals(PublisherOptions.TRANSACTION_MAX_TIMEOUT.key())) {
                    transactionMaxTimeout(TransactionTimeouts.parseDuration(value));
                } else if (key.startsWith("publisher.")) {
                    throw new IllegalArgumentException("unknown setting '" + key + "', expected one of "
                            + PublisherOptions.ALL.stream().map(PublisherOptions.Option::key).toList()
                            + " or " + PublisherOptions.PRODUCER_PREFIX + "<producer setting>");
                }
            }
            return this;
        }

        private static boolean parseBoolean(String key, String value) {
            if (!value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false")) {
                throw new IllegalArgumentException(key + " must be true or false, was '" + value + "'");
            }
            return Boolean.parseBoolean(value);
        }

        private Map<String, Object> producerConfig() {
            int maxRequestSize = Math.max(KAFKA_DEFAULT_MAX_REQUEST_SIZE, chunkSizeBytes + RECORD_OVERHEAD_BYTES);
            Map<String, Object> config = new LinkedHashMap<>();
            config.put(ProducerConfig.CLIENT_ID_CONFIG, "weightpub-publisher");
            config.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxRequestSize);
            config.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Math.max(KAFKA_DEFAULT_BUFFER_MEMORY, 4L * maxRequestSize));
            config.putAll(extraProducerProperties);
            config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
            config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            config.put(ProducerConfig.ACKS_CONFIG, "all");
            if (transactional) {
                config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
            }
            return config;
        }

        public WeightPublisher build() {
            if (bootstrapServers == null || bootstrapServers.isBlank()) {
                throw new IllegalArgumentException("bootstrap servers are required (host:port[,host:port...])");
            }
            TopicNames.of(topicPrefix);
            BucketPlanner.checkBucketSize(bucketSizeBytes);
            PublishEncoder.checkChunkSize(chunkSizeBytes);
            if (transactional && (transactionalId == null || transactionalId.isBlank())) {
                throw new IllegalArgumentException("transactional publishing needs a transactional id;"
                        + " keep it stable per trainer so a restarted trainer fences its predecessor");
            }
            if (minThroughput <= 0) {
                throw new IllegalArgumentException(PublisherOptions.TRANSACTION_MIN_THROUGHPUT.key()
                        + " must be positive, was " + minThroughput + " bytes per second");
            }
            for (String key : extraProducerProperties.keySet()) {
                if (RESERVED.contains(key)) {
                    throw new IllegalArgumentException("producer setting '" + key + "' is set by the publisher"
                            + " (bootstrap servers and transactional id have their own builder methods;"
                            + " idempotence, acks=all and byte-array serializers are required)");
                }
            }
            Object maxRequest = extraProducerProperties.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
            if (maxRequest != null && Long.parseLong(maxRequest.toString()) < chunkSizeBytes + RECORD_OVERHEAD_BYTES) {
                throw new IllegalArgumentException(ProducerConfig.MAX_REQUEST_SIZE_CONFIG + "=" + maxRequest
                        + " cannot carry a chunk of " + chunkSizeBytes + " bytes; it needs at least "
                        + (chunkSizeBytes + RECORD_OVERHEAD_BYTES));
            }
            if (signingKeyFile != null) {
                try {
                    signingKey = SigningKey.load(signingKeyFile);
                } catch (IOException | UncheckedIOException e) {
                    throw new IllegalArgumentException(PublisherOptions.SIGNING_KEY.key() + ": " + e.getMessage(), e);
                }
            }
            if (signingKeyId != null) {
                if (signingKey == null) {
                    throw new IllegalArgumentException(PublisherOptions.SIGNING_KEY_ID.key() + " is set but no"
                            + " signing key (" + PublisherOptions.SIGNING_KEY.key() + ")");
                }
                signingKey = signingKey.withKeyId(signingKeyId);
            }
            return new WeightPublisher(this);
        }
    }
}
