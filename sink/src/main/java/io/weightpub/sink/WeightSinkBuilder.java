package io.weightpub.sink;

import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.sink.engine.EngineServing;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStoreConfig;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.ReadableConfig;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;

/** Builds a {@link WeightSink}; each setter checks its value, {@link #build()} checks them together. */
@PublicEvolving
public final class WeightSinkBuilder {
    String name = SinkOptions.NAME.defaultValue();
    final WeightStoreConfig.Builder store = WeightStoreConfig.builder();
    CommitMode commitMode = CommitMode.ON_CHECKPOINT;
    String statusTopic;
    String bootstrapServers;
    final Properties producerProperties = new Properties();
    final Properties consumerProperties = new Properties();
    String chunksTopic;
    int replayFetchMaxBytes = bytes(SinkOptions.REPLAY_FETCH_MAX_BYTES.defaultValue());
    int replayPartitionFetchMaxBytes = bytes(SinkOptions.REPLAY_PARTITION_FETCH_MAX_BYTES.defaultValue());
    Duration replayStallTimeout = SinkOptions.REPLAY_STALL_TIMEOUT.defaultValue();
    boolean workerHttp;
    int httpBasePort;
    SignatureVerifier signatures = SignatureVerifier.acceptingAll();
    EngineServing engineServing;
    String hostSharedMemoryDirectory;

    WeightSinkBuilder() {}

    static WeightSinkBuilder fromConfig(ReadableConfig config) {
        WeightSinkBuilder builder = new WeightSinkBuilder()
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
        config.getOptional(SinkOptions.ENGINE_SOCKET_PATH).ifPresent(path -> builder.engineServing(
                new EngineServing(path, config.get(SinkOptions.ENGINE_SOCKET_PERMISSIONS),
                        config.get(SinkOptions.ENGINE_LEASE_TIMEOUT))));
        config.getOptional(SinkOptions.HOST_SHARED_MEMORY_DIRECTORY).ifPresent(builder::hostSharedMemoryDirectory);
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

    /** The keys a worker checks manifests against before committing (default: none, nothing checked). */
    public WeightSinkBuilder signatures(SignatureVerifier verifier) {
        this.signatures = Objects.requireNonNull(verifier, "verifier");
        return this;
    }

    public WeightSinkBuilder name(String name) {
        this.name = Objects.requireNonNull(name, "name");
        return this;
    }

    public WeightSinkBuilder backend(StoreBackend backend) {
        store.backend(backend);
        return this;
    }

    public WeightSinkBuilder commitMode(CommitMode commitMode) {
        this.commitMode = Objects.requireNonNull(commitMode, "commitMode");
        return this;
    }

    public WeightSinkBuilder slotsPerModel(int slots) {
        store.slotsPerModel(slots);
        return this;
    }

    /**
     * Extra slots per model keeping retired versions resident (memory permitting), so that rollbacks
     * to them are a flip alone.
     */
    public WeightSinkBuilder residentVersions(int versions) {
        store.residentVersions(versions);
        return this;
    }

    /**
     * Kafka at {@code bootstrapServers}: where versions are re-read from the chunks topic (rollbacks
     * to versions no longer resident, recovery of lost bytes) and where status records go.
     */
    public WeightSinkBuilder bootstrapServers(String bootstrapServers) {
        this.bootstrapServers = Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        return this;
    }

    /** Extra Kafka consumer settings for re-reading versions (security, client id, ...). */
    public WeightSinkBuilder consumerProperties(Properties properties) {
        this.consumerProperties.putAll(properties);
        return this;
    }

    /** The chunks topic (where a restored writer re-reads lost chunks of publishes in flight). */
    public WeightSinkBuilder chunksTopic(String topic) {
        this.chunksTopic = Objects.requireNonNull(topic, "topic");
        return this;
    }

    /** {@code fetch.max.bytes} and {@code max.partition.fetch.bytes} of the re-reading consumer. */
    public WeightSinkBuilder replayFetch(int fetchMaxBytes, int maxPartitionFetchBytes) {
        this.replayFetchMaxBytes = fetchMaxBytes;
        this.replayPartitionFetchMaxBytes = maxPartitionFetchBytes;
        return this;
    }

    public WeightSinkBuilder replayStallTimeout(Duration timeout) {
        this.replayStallTimeout = Objects.requireNonNull(timeout, "timeout");
        return this;
    }

    /** Writes status records to {@code topic} through Kafka at {@code bootstrapServers}. */
    public WeightSinkBuilder statusTopic(String topic, String bootstrapServers) {
        this.statusTopic = Objects.requireNonNull(topic, "topic");
        if (bootstrapServers != null) {
            this.bootstrapServers = bootstrapServers;
        }
        return this;
    }

    /** Extra Kafka producer settings for the status topic (security, client id, ...). */
    public WeightSinkBuilder producerProperties(Properties properties) {
        this.producerProperties.putAll(properties);
        return this;
    }

    public WeightSinkBuilder workerHttp(boolean enabled) {
        this.workerHttp = enabled;
        return this;
    }

    /** Worker i's reference worker listens on {@code basePort + i}; 0 picks ephemeral ports. */
    public WeightSinkBuilder httpBasePort(int basePort) {
        this.httpBasePort = basePort;
        return this;
    }

    public WeightSinkBuilder cudaDevice(int ordinal) {
        store.cudaDevice(ordinal);
        return this;
    }

    public WeightSinkBuilder stagingRing(int buffers, int bufferBytes) {
        store.stagingBuffers(buffers).stagingBufferBytes(bufferBytes);
        return this;
    }

    public WeightSinkBuilder copyThreads(int threads) {
        store.copyThreads(threads);
        return this;
    }

    public WeightSinkBuilder verifyThreads(int threads) {
        store.verifyThreads(threads);
        return this;
    }

    public WeightSinkBuilder leaseWaitTimeout(Duration timeout) {
        store.leaseWaitTimeout(timeout);
        return this;
    }

    /**
     * Slot memory budgets per model and per worker in bytes ({@link WeightStoreConfig#DERIVED_BUDGET}:
     * derived), and the share of the worker's memory a derived per-worker budget allows.
     */
    public WeightSinkBuilder memoryBudget(long maxBytesPerModel, long maxBytesPerWorker, double memoryFraction) {
        store.maxBytesPerModel(maxBytesPerModel).maxBytesPerWorker(maxBytesPerWorker)
                .memoryFraction(memoryFraction);
        return this;
    }

    /** Serve each worker's active versions to local engine processes (docs/engine-protocol.md). */
    public WeightSinkBuilder engineServing(EngineServing serving) {
        this.engineServing = serving;
        return this;
    }

    /** Allocate HOST slots as files in this directory (a tmpfs), which engine processes map. */
    public WeightSinkBuilder hostSharedMemoryDirectory(String directory) {
        this.hostSharedMemoryDirectory = directory;
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
        if (hostSharedMemoryDirectory != null) {
            store.sharedMemoryDirectory(hostSharedMemoryDirectory);
        } else if (engineServing != null) {
            // Engines map HOST slots from files; where a CUDA store serves, the setting is unused.
            store.sharedMemoryDirectory(WeightSink.DEFAULT_SHARED_MEMORY_DIRECTORY);
        }
        return new WeightSink(this);
    }
}
