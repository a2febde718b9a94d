package io.weightpub.publisher;

import io.weightpub.publisher.internal.BrokerSettings;
import io.weightpub.publisher.internal.ChunkPartitions;
import io.weightpub.publisher.internal.ParallelSend;
import io.weightpub.publisher.internal.ProducerPool;
import io.weightpub.publisher.internal.TransactionTimeouts;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.signing.RecordSigner;
import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Publishes versions of a model's weights to Kafka: every chunk of every bucket to
 * {@code <prefix>.chunks}, then the manifest to {@code <prefix>.manifests}. A version's buckets
 * are split among {@link PublisherOptions#PRODUCERS} idempotent ({@code acks=all}) producers that
 * send in parallel, each on its own thread, and its chunks are spread evenly over the chunks
 * topic's partitions. The manifest is sent only after every chunk is acknowledged (and,
 * transactional, after every producer committed its share), so a consumer that sees a manifest
 * can find all its chunks and {@code read_committed} consumers never see a manifest whose chunks
 * may still abort; a share that fails aborts the others. Each transaction's
 * {@code transaction.timeout.ms} is sized from the bytes of the publish (see
 * {@link PublisherOptions#TRANSACTION_MIN_THROUGHPUT}). Several trainer ranks can publish one
 * version together ({@link #planPublish}, {@link #publishShard}, {@link #publishManifest}). One
 * publish runs at a time; a publisher is meant to live as long as the trainer. With a signing key
 * every manifest is signed (Ed25519, key id and signature in the manifest), so jobs and workers
 * configured with its public key can prove where a version came from.
 */
@PublicEvolving
public final class WeightPublisher implements AutoCloseable {

    /** Room for the record's key, Avro fields and batch header around a chunk payload. */
    static final int RECORD_OVERHEAD_BYTES = 64 * 1024;
    static final int KAFKA_DEFAULT_MAX_REQUEST_SIZE = 1024 * 1024;
    static final long KAFKA_DEFAULT_BUFFER_MEMORY = 32L * 1024 * 1024;

    private final TopicNames topics;
    private final long bucketSizeBytes;
    private final int chunkSizeBytes;
    private final boolean transactional;
    private final Map<String, Object> producerConfig;
    private final PublishProgressListener listener;
    private final RecordSigner signer;
    private final long minThroughput;
    /** The brokers' {@code transaction.max.timeout.ms}: the option, else read from a broker when first needed. */
    private Duration maxTransactionTimeout;
    private final ProducerPool producers;
    private final ExecutorService senders;
    private boolean closed;

    WeightPublisher(WeightPublisherBuilder b) {
        this.topics = TopicNames.of(b.topicPrefix);
        this.bucketSizeBytes = b.bucketSizeBytes;
        this.chunkSizeBytes = b.chunkSizeBytes;
        this.transactional = b.transactional;
        this.producerConfig = Map.copyOf(b.producerConfig());
        this.listener = b.listener;
        this.signer = b.signingKey == null ? null : new RecordSigner(b.signingKey);
        this.minThroughput = b.minThroughput;
        this.maxTransactionTimeout = b.maxTransactionTimeout;
        this.producers = new ProducerPool(producerConfig, transactional, b.producers);
        AtomicInteger threads = new AtomicInteger();
        this.senders = Executors.newFixedThreadPool(b.producers, r -> {
            Thread t = new Thread(r, "weightpub-publish-" + threads.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
        try {
            producers.producer(0); // connect (and fence a predecessor) now, not at the first publish
        } catch (RuntimeException e) {
            senders.shutdownNow();
            throw e;
        }
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

    /** How many producers send a publish in parallel ({@link PublisherOptions#PRODUCERS}). */
    public int producers() {
        return producers.size();
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
     * Publishes one version. Returns once the manifest is acknowledged (and, transactional, every
     * transaction committed).
     *
     * @throws IllegalArgumentException when the arguments cannot form a version (nothing is sent)
     * @throws PublishException when sending fails or a tensor cannot be read; no manifest was sent
     */
    public synchronized PublishResult publish(String modelId, long step, List<? extends TensorSource> tensors) {
        PublishEncoder encoder = PublishEncoder.builder()
                .modelId(modelId)
                .step(step)
                .tensors(tensors)
                .bucketSizeBytes(bucketSizeBytes)
                .chunkSizeBytes(chunkSizeBytes)
                .build();
        long startNanos = System.nanoTime();
        Duration timeout = prepare(encoder, encoder.totalBytes());
        try {
            ParallelSend send = newSend(encoder, startNanos);
            long chunks = send.sendChunks(0, encoder.bucketCount());
            VersionManifest manifest = sign(encoder.manifest());
            send.sendManifest(manifest);
            listener.onProgress(send.progress());
            PublishResult result = new PublishResult(manifest, chunks, Duration.ofNanos(System.nanoTime() - startNanos));
            listener.onComplete(result);
            return result;
        } catch (RuntimeException | ExecutionException | InterruptedException e) {
            throw failed(encoder, e, timeout, startNanos);
        }
    }

    /**
     * Plans a version that {@code ranks} trainer ranks publish together; every rank calls this
     * with the same arguments and gets the same plan. {@code tensors} lists the whole version in
     * the same order on every rank; a rank may give {@link TensorSource#spec} for tensors it does
     * not hold. {@code publishId} must be the same on every rank and new for every attempt (rank 0
     * draws one, e.g. a UUID, and broadcasts it). The plan uses this publisher's bucket and chunk
     * sizes.
     */
    public PublishPlan planPublish(String modelId, long step, String publishId, List<? extends TensorSource> tensors,
            int ranks) {
        return new PublishPlan(modelId, step, publishId, tensors, bucketSizeBytes, chunkSizeBytes, ranks);
    }

    /**
     * Sends and commits the buckets the plan gives {@code rank}, reading them from {@code tensors}
     * (at least the tensors {@link PublishPlan#tensors(int)} names for the rank; matched by name).
     * Sends no manifest: gather every rank's result, then one rank calls {@link #publishManifest}.
     *
     * @throws PublishException when sending fails; nothing of this shard is committed
     */
    public synchronized ShardResult publishShard(PublishPlan plan, int rank, List<? extends TensorSource> tensors) {
        PublishEncoder encoder = plan.encoder(tensors);
        int from = plan.firstBucket(rank);
        int to = plan.endBucket(rank);
        long startNanos = System.nanoTime();
        Duration timeout = prepare(encoder, plan.bytes(rank));
        try {
            long chunks = newSend(encoder, startNanos).sendChunks(from, to);
            List<byte[]> digests = new ArrayList<>();
            for (int b = from; b < to; b++) {
                digests.add(encoder.bucketDigest(b));
            }
            return new ShardResult(plan.publishId(), rank, from, digests, chunks, plan.bytes(rank),
                    Duration.ofNanos(System.nanoTime() - startNanos));
        } catch (RuntimeException e) {
            throw failed(encoder, e, timeout, startNanos);
        }
    }

    /**
     * Sends the manifest of a shared publish once every rank's shard is committed: {@code shards}
     * holds one result per rank of the plan (their digests go into the manifest).
     *
     * @throws IllegalArgumentException when a rank's result is missing, repeated or does not fit the plan
     * @throws PublishException when sending fails
     */
    public synchronized PublishResult publishManifest(PublishPlan plan, Collection<ShardResult> shards) {
        PublishEncoder encoder = plan.encoder(List.of());
        ShardResult[] byRank = new ShardResult[plan.ranks()];
        long chunks = 0;
        for (ShardResult shard : shards) {
            int rank = shard.rank();
            if (!shard.publishId().equals(plan.publishId()) || rank < 0 || rank >= byRank.length
                    || byRank[rank] != null || shard.fromBucket() != plan.firstBucket(rank)
                    || shard.toBucket() != plan.endBucket(rank)) {
                throw new IllegalArgumentException("shard result " + shard + " is not the one result of a rank of "
                        + plan + " (rank " + rank + " must cover buckets [" + (rank >= 0 && rank < byRank.length
                                ? plan.firstBucket(rank) + ", " + plan.endBucket(rank) : "?, ?") + "))");
            }
            byRank[rank] = shard;
            for (int b = shard.fromBucket(); b < shard.toBucket(); b++) {
                encoder.bucketDigest(b, shard.sha256(b - shard.fromBucket()));
            }
            chunks += shard.chunks();
        }
        for (int rank = 0; rank < byRank.length; rank++) {
            if (byRank[rank] == null) {
                throw new IllegalArgumentException("no shard result of rank " + rank + " of " + plan
                        + "; the manifest waits for every rank");
            }
        }
        long startNanos = System.nanoTime();
        Duration timeout = prepare(encoder, 0);
        try {
            VersionManifest manifest = sign(encoder.manifest());
            newSend(encoder, startNanos).sendManifest(manifest);
            PublishResult result = new PublishResult(manifest, chunks, Duration.ofNanos(System.nanoTime() - startNanos));
            listener.onComplete(result);
            return result;
        } catch (RuntimeException | ExecutionException | InterruptedException e) {
            throw failed(encoder, e, timeout, startNanos);
        }
    }

    private VersionManifest sign(VersionManifest manifest) {
        return signer == null ? manifest : signer.sign(manifest);
    }

    private ParallelSend newSend(PublishEncoder encoder, long startNanos) {
        int partitions = producers.producer(0).partitionsFor(topics.chunks()).size();
        return new ParallelSend(producers, senders, topics, transactional, listener, encoder,
                ChunkPartitions.of(encoder.publishId(), partitions), startNanos);
    }

    /**
     * Checks the publisher is open and, transactional, sizes the transactions for {@code bytes}:
     * fails before anything is sent when the brokers do not allow the timeout needed, and has the
     * producers replaced when theirs is too short. Returns the timeout (null without transactions).
     */
    private Duration prepare(PublishEncoder encoder, long bytes) {
        if (closed) {
            throw new IllegalStateException("publisher is closed");
        }
        if (!transactional) {
            return null;
        }
        if (producers.explicitTimeout()) {
            return producers.transactionTimeout();
        }
        if (maxTransactionTimeout == null) {
            maxTransactionTimeout = BrokerSettings.transactionMaxTimeout(producerConfig);
        }
        // Shares send in parallel but their transactions all stay open until the slowest share is
        // acknowledged, so each is sized for all the bytes of this call at the publisher's throughput.
        String tooLarge = TransactionTimeouts.tooLargeReason(bytes, minThroughput, maxTransactionTimeout);
        if (tooLarge != null) {
            throw new PublishException(encoder.modelId(), encoder.step(), encoder.publishId(), tooLarge, null);
        }
        return producers.ensureTimeout(TransactionTimeouts.needed(bytes, minThroughput));
    }

    private PublishException failed(PublishEncoder encoder, Exception e, Duration timeout, long startNanos) {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
        Duration ran = Duration.ofNanos(System.nanoTime() - startNanos);
        String hint = timeout == null ? "" : TransactionTimeouts.timedOutHint(ran, timeout, producers.explicitTimeout());
        return new PublishException(encoder.modelId(), encoder.step(), encoder.publishId(),
                (transactional ? "transaction aborted: " : "manifest not sent: ") + cause.getMessage() + hint, cause);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            senders.shutdownNow();
            producers.close();
            try {
                senders.awaitTermination(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
