package io.weightpub.sink;

import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStoreConfig;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

import java.time.Duration;

/** Flink configuration of the weight sink ({@link WeightSink#fromConfig}). */
@PublicEvolving
public final class SinkOptions {

    private SinkOptions() {}

    public static final ConfigOption<String> NAME = ConfigOptions.key("weightpub.sink.name")
            .stringType()
            .defaultValue("weightpub-sink")
            .withDescription("Name of the sink; worker stores in a JVM are found by (name, worker index), so two "
                    + "sinks in one JVM need different names.");

    public static final ConfigOption<StoreBackend> BACKEND = ConfigOptions.key("weightpub.sink.backend")
            .enumType(StoreBackend.class)
            .defaultValue(WeightStoreConfig.DEFAULT_BACKEND)
            .withDescription("Where weights live: HOST (off-heap), CUDA (GPU through JCuda), or AUTO (CUDA where a "
                    + "device is present, else HOST).");

    public static final ConfigOption<CommitMode> COMMIT_MODE = ConfigOptions.key("weightpub.sink.commit-mode")
            .enumType(CommitMode.class)
            .defaultValue(CommitMode.ON_CHECKPOINT)
            .withDescription("ON_CHECKPOINT: flip when the checkpoint completes (all workers together; needs "
                    + "checkpointing). IMMEDIATE: flip as soon as a version verifies, per worker.");

    public static final ConfigOption<Integer> SLOTS_PER_MODEL = ConfigOptions.key("weightpub.sink.slots-per-model")
            .intType()
            .defaultValue(WeightStoreConfig.DEFAULT_SLOTS_PER_MODEL)
            .withDescription("Slots per model, at least 2 (active + shadow). With ON_CHECKPOINT, 3 lets the next "
                    + "version stage while the previous one waits for its checkpoint.");

    public static final ConfigOption<String> STATUS_TOPIC = ConfigOptions.key("weightpub.sink.status-topic")
            .stringType()
            .noDefaultValue()
            .withDescription("Topic for per-worker status records (WorkerStatus, keyed model/worker); unset: "
                    + "status is only logged.");

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions
            .key("weightpub.sink.bootstrap-servers")
            .stringType()
            .noDefaultValue()
            .withDescription("Kafka bootstrap servers for the status topic and for re-reading versions from the "
                    + "chunks topic (rollbacks to versions no longer resident, recovery of lost bytes); unset: "
                    + "neither.");

    public static final ConfigOption<Integer> RESIDENT_VERSIONS = ConfigOptions
            .key("weightpub.sink.resident-versions")
            .intType()
            .defaultValue(WeightStoreConfig.DEFAULT_RESIDENT_VERSIONS)
            .withDescription("Extra slots per model (each the size of a version) that keep retired versions "
                    + "resident, so a rollback to one of them is a flip alone; allocated only while memory "
                    + "permits. Free shadow slots keep the latest retired version anyway until a publish needs "
                    + "them.");

    public static final ConfigOption<MemorySize> REPLAY_FETCH_MAX_BYTES = ConfigOptions
            .key("weightpub.sink.replay.fetch-max-bytes")
            .memoryType()
            .defaultValue(MemorySize.ofMebiBytes(64))
            .withDescription("fetch.max.bytes of the consumer that re-reads a version from the chunks topic.");

    public static final ConfigOption<MemorySize> REPLAY_PARTITION_FETCH_MAX_BYTES = ConfigOptions
            .key("weightpub.sink.replay.max-partition-fetch-bytes")
            .memoryType()
            .defaultValue(MemorySize.ofMebiBytes(16))
            .withDescription("max.partition.fetch.bytes of the consumer that re-reads a version.");

    public static final ConfigOption<String> REPLAY_CHUNKS_TOPIC = ConfigOptions
            .key("weightpub.sink.replay.chunks-topic")
            .stringType()
            .noDefaultValue()
            .withDescription("The chunks topic, where a restored writer re-reads the lost chunks of publishes in "
                    + "flight (its state keeps their partitions and offsets). Rollbacks and committed versions "
                    + "find it in their version-index entry.");

    public static final ConfigOption<Duration> REPLAY_STALL_TIMEOUT = ConfigOptions
            .key("weightpub.sink.replay.stall-timeout")
            .durationType()
            .defaultValue(Duration.ofSeconds(60))
            .withDescription("A re-read of a version fails when Kafka returns no record for this long (it rides "
                    + "out a broker restart shorter than this).");

    public static final ConfigOption<Boolean> WORKER_HTTP = ConfigOptions.key("weightpub.sink.worker-http.enabled")
            .booleanType()
            .defaultValue(false)
            .withDescription("Start a reference worker per sink subtask: HTTP on 127.0.0.1 serving status and "
                    + "per-tensor digests of the active version.");

    public static final ConfigOption<Integer> WORKER_HTTP_BASE_PORT = ConfigOptions
            .key("weightpub.sink.worker-http.base-port")
            .intType()
            .defaultValue(0)
            .withDescription("Port of worker 0's reference worker; worker i listens on base + i. 0: ephemeral ports "
                    + "(see WeightSink.workerUri).");

    public static final ConfigOption<Integer> CUDA_DEVICE = ConfigOptions.key("weightpub.sink.cuda.device")
            .intType()
            .defaultValue(WeightStoreConfig.DEFAULT_CUDA_DEVICE)
            .withDescription("CUDA device ordinal; -1 gives worker i device i modulo the device count.");

    public static final ConfigOption<Integer> STAGING_BUFFERS = ConfigOptions.key("weightpub.sink.staging.buffers")
            .intType()
            .defaultValue(WeightStoreConfig.DEFAULT_STAGING_BUFFERS)
            .withDescription("Pinned host buffers in the CUDA staging ring (at least 2).");

    public static final ConfigOption<MemorySize> STAGING_BUFFER_SIZE = ConfigOptions
            .key("weightpub.sink.staging.buffer-size")
            .memoryType()
            .defaultValue(new MemorySize(WeightStoreConfig.DEFAULT_STAGING_BUFFER_BYTES))
            .withDescription("Size of each pinned staging buffer; adjacent chunks are coalesced up to it.");

    public static final ConfigOption<Integer> COPY_THREADS = ConfigOptions.key("weightpub.sink.staging.copy-threads")
            .intType()
            .defaultValue(WeightStoreConfig.DEFAULT_COPY_THREADS)
            .withDescription("Threads copying chunk payloads into pinned memory (CUDA). One thread copies about "
                    + "6 GB/s; on an H100 8 threads reached 0.56-0.98x of the raw pinned host-to-device bandwidth "
                    + "over four runs, 4 threads 0.35-0.54x.");

    public static final ConfigOption<Integer> VERIFY_THREADS = ConfigOptions.key("weightpub.sink.verify-threads")
            .intType()
            .defaultValue(WeightStoreConfig.DEFAULT_VERIFY_THREADS)
            .withDescription("Threads hashing buckets in parallel when a version is verified.");

    public static final ConfigOption<Duration> LEASE_WAIT_TIMEOUT = ConfigOptions
            .key("weightpub.sink.lease-wait-timeout")
            .durationType()
            .defaultValue(WeightStoreConfig.DEFAULT_LEASE_WAIT_TIMEOUT)
            .withDescription("How long staging waits for readers to release a retired slot before failing.");

    public static final ConfigOption<MemorySize> MEMORY_MAX_PER_MODEL = ConfigOptions
            .key("weightpub.sink.memory.max-per-model")
            .memoryType()
            .noDefaultValue()
            .withDescription("Most slot memory one model may hold on a worker (active, staged and resident slots "
                    + "together). A version may take at most half of it (it needs an active and a shadow slot); a "
                    + "publish that does not fit, even after evicting retired versions, is refused before anything "
                    + "is allocated and reported FAILED. Unset: the per-worker budget.");

    public static final ConfigOption<MemorySize> MEMORY_MAX_PER_WORKER = ConfigOptions
            .key("weightpub.sink.memory.max-per-worker")
            .memoryType()
            .noDefaultValue()
            .withDescription("Most slot memory all models of a worker may hold together; retired versions of any "
                    + "model are evicted to make room. Unset: weightpub.sink.memory.fraction of the worker's "
                    + "memory (total device memory on CUDA, physical memory on HOST).");

    public static final ConfigOption<Double> MEMORY_FRACTION = ConfigOptions
            .key("weightpub.sink.memory.fraction")
            .doubleType()
            .defaultValue(WeightStoreConfig.DEFAULT_MEMORY_FRACTION)
            .withDescription("Share of the worker's memory (device memory on CUDA, physical memory on HOST) that "
                    + "an unset weightpub.sink.memory.max-per-worker allows, in (0, 1].");
}
