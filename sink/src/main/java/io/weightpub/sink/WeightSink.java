package io.weightpub.sink;

import io.weightpub.events.WeightEvent;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.sink.internal.FlipCommittable;
import io.weightpub.sink.internal.FlipCommittableSerializer;
import io.weightpub.sink.internal.FlipCommitter;
import io.weightpub.sink.internal.WeightSinkWriter;
import io.weightpub.sink.internal.WorkerRegistry;
import io.weightpub.sink.internal.WorkerRuntime;
import io.weightpub.sink.internal.WorkerSettings;
import io.weightpub.sink.internal.WriterState;
import io.weightpub.sink.internal.WriterStateSerializer;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;

import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;

/**
 * Flink Sink V2 that publishes weights into inference workers: one subtask per worker, each
 * owning that worker's {@link WeightStore}. Feed it the job's events broadcast, so that every
 * worker receives every version:
 *
 * <pre>{@code
 * WeightSink sink = WeightSink.builder()
 *         .statusTopic(topics.status(), bootstrapServers)
 *         .build();
 * events.broadcast().sinkTo(sink).name("weights").setParallelism(workers);
 * }</pre>
 *
 * <p>A worker's store lives in the JVM beyond its writer: a writer restarted within the job resumes
 * with it. When the job leaves the TaskManager (cancelled, stopped with a savepoint, failed for good)
 * its workers are released there: stores, reference workers and Kafka clients, so a resubmitted job
 * starts from free memory and ports. Only a job whose input ended (a bounded job) keeps its weights
 * served after it, until {@link #release(String)}.
 */
@PublicEvolving
public final class WeightSink
        implements Sink<WeightEvent>, SupportsWriterState<WeightEvent, WriterState>, SupportsCommitter<FlipCommittable> {

    private static final long serialVersionUID = 1L;

    private final String name;
    private final WeightStoreConfig storeConfig;
    private final CommitMode commitMode;
    private final String statusTopic;
    private final String bootstrapServers;
    private final Properties producerProperties;
    private final Properties consumerProperties;
    private final String chunksTopic;
    private final int replayFetchMaxBytes;
    private final int replayPartitionFetchMaxBytes;
    private final Duration replayStallTimeout;
    private final boolean workerHttp;
    private final int httpBasePort;
    private final SignatureVerifier signatures;

    private WeightSink(Builder b) {
        this.name = b.name;
        this.storeConfig = b.store.build();
        this.commitMode = b.commitMode;
        this.statusTopic = b.statusTopic;
        this.bootstrapServers = b.bootstrapServers;
        this.producerProperties = new Properties();
        this.producerProperties.putAll(b.producerProperties);
        this.consumerProperties = new Properties();
        this.consumerProperties.putAll(b.consumerProperties);
        this.chunksTopic = b.chunksTopic;
        this.replayFetchMaxBytes = b.replayFetchMaxBytes;
        this.replayPartitionFetchMaxBytes = b.replayPartitionFetchMaxBytes;
        this.replayStallTimeout = b.replayStallTimeout;
        this.workerHttp = b.workerHttp;
        this.httpBasePort = b.httpBasePort;
        this.signatures = b.signatures;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder preset from {@link SinkOptions}; status topic and Kafka client settings may still be added. */
    public static Builder fromConfig(ReadableConfig config) {
        Builder builder = builder()
                .name(config.get(SinkOptions.NAME))
                .backend(config.get(SinkOptions.BACKEND))
                .commitMode(config.get(SinkOptions.COMMIT_MODE))
                .slotsPerModel(config.get(SinkOptions.SLOTS_PER_MODEL))
                .residentVersions(config.get(SinkOptions.RESIDENT_VERSIONS))
                .replayFetch(bytes(config.get(SinkOptions.REPLAY_FETCH_MAX_BYTES)),
                        bytes(config.get(SinkOptions.REPLAY_PARTITION_FETCH_MAX_BYTES)))
                .replayStallTimeout(config.get(SinkOptions.REPLAY_STALL_TIMEOUT))
                .workerHttp(config.get(SinkOptions.WORKER_HTTP))
                .httpBasePort(config.get(SinkOptions.WORKER_HTTP_BASE_PORT))
                .cudaDevice(config.get(SinkOptions.CUDA_DEVICE))
                .stagingRing(config.get(SinkOptions.STAGING_BUFFERS),
                        (int) Math.min(Integer.MAX_VALUE, config.get(SinkOptions.STAGING_BUFFER_SIZE).getBytes()))
                .copyThreads(config.get(SinkOptions.COPY_THREADS))
                .verifyThreads(config.get(SinkOptions.VERIFY_THREADS))
                .leaseWaitTimeout(config.get(SinkOptions.LEASE_WAIT_TIMEOUT))
                .memoryBudget(config.getOptional(SinkOptions.MEMORY_MAX_PER_MODEL).map(MemorySize::getBytes)
                                .orElse(WeightStoreConfig.DERIVED_BUDGET),
                        config.getOptional(SinkOptions.MEMORY_MAX_PER_WORKER).map(MemorySize::getBytes)
                                .orElse(WeightStoreConfig.DERIVED_BUDGET),
                        config.get(SinkOptions.MEMORY_FRACTION))
                .signatures(SinkSecurityOptions.verifier(config));
        config.getOptional(SinkOptions.BOOTSTRAP_SERVERS).ifPresent(builder::bootstrapServers);
        config.getOptional(SinkOptions.REPLAY_CHUNKS_TOPIC).ifPresent(builder::chunksTopic);
        Optional<String> topic = config.getOptional(SinkOptions.STATUS_TOPIC);
        if (topic.isPresent()) {
            builder.statusTopic(topic.get(), config.getOptional(SinkOptions.BOOTSTRAP_SERVERS).orElse(null));
        }
        return builder;
    }

    private static int bytes(MemorySize size) {
        return (int) Math.min(Integer.MAX_VALUE, size.getBytes());
    }

    @Override
    public StatefulSinkWriter<WeightEvent, WriterState> createWriter(WriterInitContext context) {
        return restoreWriter(context, List.of());
    }

    @Override
    public StatefulSinkWriter<WeightEvent, WriterState> restoreWriter(
            WriterInitContext context, Collection<WriterState> recoveredState) {
        String jobId = context.getJobInfo().getJobId().toString();
        // Runs when the job's classloader is released on this TaskManager: the job is gone here, not restarting.
        context.getUserCodeClassLoader().registerReleaseHookIfAbsent("weightpub-sink-" + name + "-" + jobId,
                () -> WorkerRegistry.releaseJob(name, jobId));
        return new WeightSinkWriter(workerSettings(), context.getTaskInfo().getIndexOfThisSubtask(), jobId,
                context.getRestoredCheckpointId(), recoveredState, context.metricGroup());
    }

    @Override
    public SimpleVersionedSerializer<WriterState> getWriterStateSerializer() {
        return WriterStateSerializer.INSTANCE;
    }

    @Override
    public Committer<FlipCommittable> createCommitter(CommitterInitContext context) {
        return new FlipCommitter(name);
    }

    @Override
    public SimpleVersionedSerializer<FlipCommittable> getCommittableSerializer() {
        return FlipCommittableSerializer.INSTANCE;
    }

    /** The store of worker {@code worker} of sink {@code sinkName} in this JVM, if its writer ran here. */
    public static Optional<WeightStore> store(String sinkName, int worker) {
        return WorkerRegistry.get(sinkName, worker).map(WorkerRuntime::store);
    }

    /** The reference worker's base URI (http://127.0.0.1:port) of that worker, if it runs in this JVM. */
    public static Optional<URI> workerUri(String sinkName, int worker) {
        return WorkerRegistry.get(sinkName, worker).map(WorkerRuntime::http).map(ReferenceWorker::uri);
    }

    /** Stops the sink's reference workers and frees its stores in this JVM; returns how many workers. */
    public static int release(String sinkName) {
        return WorkerRegistry.release(sinkName);
    }

    public String name() {
        return name;
    }

    public WeightStoreConfig storeConfig() {
        return storeConfig;
    }

    public CommitMode commitMode() {
        return commitMode;
    }

    public Optional<String> statusTopic() {
        return Optional.ofNullable(statusTopic);
    }

    public Optional<String> bootstrapServers() {
        return Optional.ofNullable(bootstrapServers);
    }

    /** A copy of the extra producer properties for the status topic. */
    public Properties producerProperties() {
        Properties copy = new Properties();
        copy.putAll(producerProperties);
        return copy;
    }

    /**
     * Settings of the consumer that re-reads versions from the chunks topic (bootstrap servers, large
     * fetches, the extra consumer properties), or empty when no bootstrap servers are set.
     */
    public Optional<Properties> replayConsumerProperties() {
        if (bootstrapServers == null) {
            return Optional.empty();
        }
        Properties props = new Properties();
        props.setProperty(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(replayFetchMaxBytes));
        props.setProperty(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(replayPartitionFetchMaxBytes));
        props.setProperty(ConsumerConfig.RECEIVE_BUFFER_CONFIG, String.valueOf(4 << 20));
        props.putAll(consumerProperties);
        props.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return Optional.of(props);
    }

    /** The chunks topic, where lost chunks of publishes in flight are re-read after a restore. */
    public Optional<String> chunksTopic() {
        return Optional.ofNullable(chunksTopic);
    }

    /** How long a re-read of a version may receive nothing from Kafka before it fails. */
    public Duration replayStallTimeout() {
        return replayStallTimeout;
    }

    public boolean workerHttp() {
        return workerHttp;
    }

    public int httpBasePort() {
        return httpBasePort;
    }

    /**
     * Checks the manifest signature of each version before the worker commits it (defence in
     * depth behind the job's own check); built where the job is, it travels with the sink.
     */
    public SignatureVerifier signatures() {
        return signatures;
    }

    /** What one worker's writer and runtime take from this sink; a fresh copy of the Kafka properties. */
    @Internal
    public WorkerSettings workerSettings() {
        return new WorkerSettings(name, commitMode, signatures, chunksTopic, storeConfig, statusTopic, bootstrapServers,
                producerProperties(), workerHttp, httpBasePort, replayConsumerProperties(), replayStallTimeout);
    }

    /** Builder; {@link #build()} checks every setting. */
    public static final class Builder {
        private String name = SinkOptions.NAME.defaultValue();
        private final WeightStoreConfig.Builder store = WeightStoreConfig.builder();
        private CommitMode commitMode = CommitMode.ON_CHECKPOINT;
        private String statusTopic;
        private String bootstrapServers;
        private final Properties producerProperties = new Properties();
        private final Properties consumerProperties = new Properties();
        private String chunksTopic;
        private int replayFetchMaxBytes = bytes(SinkOptions.REPLAY_FETCH_MAX_BYTES.defaultValue());
        private int replayPartitionFetchMaxBytes = bytes(SinkOptions.REPLAY_PARTITION_FETCH_MAX_BYTES.defaultValue());
        private Duration replayStallTimeout = SinkOptions.REPLAY_STALL_TIMEOUT.defaultValue();
        private boolean workerHttp;
        private int httpBasePort;
        private SignatureVerifier signatures = SignatureVerifier.acceptingAll();

        private Builder() {}

        /** The keys a worker checks manifests against before committing (default: none, nothing checked). */
        public Builder signatures(SignatureVerifier verifier) {
            this.signatures = Objects.requireNonNull(verifier, "verifier");
            return this;
        }

        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        public Builder backend(StoreBackend backend) {
            store.backend(backend);
            return this;
        }

        public Builder commitMode(CommitMode commitMode) {
            this.commitMode = Objects.requireNonNull(commitMode, "commitMode");
            return this;
        }

        public Builder slotsPerModel(int slots) {
            store.slotsPerModel(slots);
            return this;
        }

        /**
         * Extra slots per model keeping retired versions resident (memory permitting), so that rollbacks
         * to them are a flip alone.
         */
        public Builder residentVersions(int versions) {
            store.residentVersions(versions);
            return this;
        }

        /**
         * Kafka at {@code bootstrapServers}: where versions are re-read from the chunks topic (rollbacks
         * to versions no longer resident, recovery of lost bytes) and where status records go.
         */
        public Builder bootstrapServers(String bootstrapServers) {
            this.bootstrapServers = Objects.requireNonNull(bootstrapServers, "bootstrapServers");
            return this;
        }

        /** Extra Kafka consumer settings for re-reading versions (security, client id, ...). */
        public Builder consumerProperties(Properties properties) {
            this.consumerProperties.putAll(properties);
            return this;
        }

        /** The chunks topic (where a restored writer re-reads lost chunks of publishes in flight). */
        public Builder chunksTopic(String topic) {
            this.chunksTopic = Objects.requireNonNull(topic, "topic");
            return this;
        }

        /** {@code fetch.max.bytes} and {@code max.partition.fetch.bytes} of the re-reading consumer. */
        public Builder replayFetch(int fetchMaxBytes, int maxPartitionFetchBytes) {
            this.replayFetchMaxBytes = fetchMaxBytes;
            this.replayPartitionFetchMaxBytes = maxPartitionFetchBytes;
            return this;
        }

        public Builder replayStallTimeout(Duration timeout) {
            this.replayStallTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** Writes status records to {@code topic} through Kafka at {@code bootstrapServers}. */
        public Builder statusTopic(String topic, String bootstrapServers) {
            this.statusTopic = Objects.requireNonNull(topic, "topic");
            if (bootstrapServers != null) {
                this.bootstrapServers = bootstrapServers;
            }
            return this;
        }

        /** Extra Kafka producer settings for the status topic (security, client id, ...). */
        public Builder producerProperties(Properties properties) {
            this.producerProperties.putAll(properties);
            return this;
        }

        public Builder workerHttp(boolean enabled) {
            this.workerHttp = enabled;
            return this;
        }

        /** Worker i's reference worker listens on {@code basePort + i}; 0 picks ephemeral ports. */
        public Builder httpBasePort(int basePort) {
            this.httpBasePort = basePort;
            return this;
        }

        public Builder cudaDevice(int ordinal) {
            store.cudaDevice(ordinal);
            return this;
        }

        public Builder stagingRing(int buffers, int bufferBytes) {
            store.stagingBuffers(buffers).stagingBufferBytes(bufferBytes);
            return this;
        }

        public Builder copyThreads(int threads) {
            store.copyThreads(threads);
            return this;
        }

        public Builder verifyThreads(int threads) {
            store.verifyThreads(threads);
            return this;
        }

        public Builder leaseWaitTimeout(Duration timeout) {
            store.leaseWaitTimeout(timeout);
            return this;
        }

        /**
         * Slot memory budgets per model and per worker in bytes ({@link WeightStoreConfig#DERIVED_BUDGET}:
         * derived), and the share of the worker's memory a derived per-worker budget allows.
         */
        public Builder memoryBudget(long maxBytesPerModel, long maxBytesPerWorker, double memoryFraction) {
            store.maxBytesPerModel(maxBytesPerModel).maxBytesPerWorker(maxBytesPerWorker)
                    .memoryFraction(memoryFraction);
            return this;
        }

        public WeightSink build() {
            if (name.isBlank()) {
                throw new IllegalArgumentException("the sink name must not be blank");
            }
            if (statusTopic != null && (bootstrapServers == null || bootstrapServers.isBlank())) {
                throw new IllegalArgumentException(
                        "status topic " + statusTopic + " is set but no Kafka bootstrap servers are");
            }
            if (bootstrapServers != null && bootstrapServers.isBlank()) {
                throw new IllegalArgumentException("Kafka bootstrap servers are blank");
            }
            if (replayFetchMaxBytes < 1 << 20 || replayPartitionFetchMaxBytes < 1 << 20) {
                throw new IllegalArgumentException("replay fetch sizes " + replayFetchMaxBytes + " and "
                        + replayPartitionFetchMaxBytes + " bytes must be at least 1 MiB (a chunk record's size)");
            }
            if (replayStallTimeout.isNegative() || replayStallTimeout.isZero()) {
                throw new IllegalArgumentException("replay stall timeout " + replayStallTimeout + " must be positive");
            }
            if (httpBasePort < 0 || httpBasePort > 65535) {
                throw new IllegalArgumentException("worker HTTP base port " + httpBasePort + " is not a port");
            }
            return new WeightSink(this);
        }
    }
}
