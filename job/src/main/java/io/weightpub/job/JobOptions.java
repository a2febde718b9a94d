package io.weightpub.job;

import io.weightpub.schemas.TopicNames;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

import java.time.Duration;

/** Settings of the weight publishing job. Pass them as {@code --key value} program arguments. */
@PublicEvolving
public final class JobOptions {

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions.key("bootstrap.servers")
            .stringType()
            .noDefaultValue()
            .withDescription("Kafka bootstrap servers of the trainer topics. Required.");

    public static final ConfigOption<String> TOPIC_PREFIX = ConfigOptions.key("topic.prefix")
            .stringType()
            .defaultValue(TopicNames.DEFAULT_PREFIX)
            .withDescription("Prefix of the topics: <prefix>.chunks, .manifests, .control (read) and "
                    + "<prefix>.status, .versions, .dlq (written).");

    public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("group.id")
            .stringType()
            .defaultValue("weightpub-job")
            .withDescription("Kafka consumer group of the job's source (offsets are committed on checkpoints).");

    public static final ConfigOption<Duration> PUBLISH_TIMEOUT = ConfigOptions.key("publish.timeout")
            .durationType()
            .defaultValue(Duration.ofMinutes(10))
            .withDescription("A publish that receives no record for this long is aborted and never applied.");

    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = ConfigOptions.key("checkpoint.interval")
            .durationType()
            .defaultValue(Duration.ofSeconds(5))
            .withDescription("Checkpoint interval. In the default commit mode versions become active when "
                    + "the checkpoint after their last chunk completes.");

    public static final ConfigOption<Integer> PARALLELISM = ConfigOptions.key("parallelism")
            .intType()
            .defaultValue(1)
            .withFallbackKeys("assembler.parallelism")
            .withDescription("Parallelism of the Kafka source and the chunk checkers chained to it: how many "
                    + "subtasks read, decode and CRC-check the chunks of one version in parallel. Give the chunks "
                    + "topic at least this many partitions. (Formerly `assembler.parallelism`, still read.)");

    public static final ConfigOption<Integer> COORDINATOR_PARALLELISM = ConfigOptions.key("coordinator.parallelism")
            .intType()
            .defaultValue(1)
            .withDescription("Parallelism of the version coordinators, keyed by model: each sees only chunk "
                    + "receipts (metadata), never payload, so one keeps up with many checkers; raise it to spread "
                    + "many models.");

    public static final ConfigOption<Integer> WORKERS = ConfigOptions.key("workers")
            .intType()
            .defaultValue(1)
            .withDescription("Number of inference workers: the sink's parallelism; every worker receives every version.");

    public static final ConfigOption<Integer> RETAINED_MANIFESTS = ConfigOptions.key("version-index.retained")
            .intType()
            .defaultValue(64)
            .withDescription("Published versions per model whose manifest and offsets the job keeps in state "
                    + "(rollback targets); all versions stay in the compacted versions topic.");

    public static final ConfigOption<Integer> DEAD_LETTER_MAX_RAW_BYTES = ConfigOptions.key("dead-letter.max-raw-bytes")
            .intType()
            .defaultValue(64 * 1024)
            .withDescription("Quarantined records up to this size are copied into the dead-letter record; larger "
                    + "ones are referenced by topic, partition and offset.");

    public static final ConfigOption<String> STARTING_OFFSETS = ConfigOptions.key("source.starting-offsets")
            .stringType()
            .defaultValue("committed-or-earliest")
            .withDescription("Where a job without a checkpoint starts reading: 'earliest', 'latest' or "
                    + "'committed-or-earliest' (the group's committed offsets, else the earliest).");

    public static final ConfigOption<Boolean> STOP_AT_LATEST = ConfigOptions.key("source.stop-at-latest")
            .booleanType()
            .defaultValue(false)
            .withDescription("Stop reading at the offsets that are latest when the job starts (a bounded run: "
                    + "benchmarks, catching up a fresh worker fleet from the log). Off for a normal deployment.");

    public static final ConfigOption<MemorySize> MAX_VERSION_BYTES = ConfigOptions.key("limits.max-version-bytes")
            .memoryType()
            .defaultValue(MemorySize.parse("1 tb"))
            .withDescription("Largest version a publish may declare (default 1 TiB). A larger publish is failed and quarantined "
                    + "before any of its chunks reaches a worker; set it to what one model may take on a worker.");

    public static final ConfigOption<Integer> MAX_BUCKETS = ConfigOptions.key("limits.max-buckets")
            .intType()
            .defaultValue(1 << 16)
            .withDescription("Most buckets one version may declare (1 TiB in 512 MiB buckets is 2,048).");

    public static final ConfigOption<Integer> MAX_CHUNKS = ConfigOptions.key("limits.max-chunks")
            .intType()
            .defaultValue(1 << 24)
            .withDescription("Most chunk records one version may declare, over all its buckets (1 TiB in the "
                    + "publisher's default 1020 KiB chunks is about 1.1 million).");

    public static final ConfigOption<MemorySize> MAX_CHUNK_BYTES = ConfigOptions.key("limits.max-chunk-bytes")
            .memoryType()
            .defaultValue(MemorySize.ofMebiBytes(64))
            .withDescription("Largest payload of one chunk record (the publisher cuts chunks of 1 byte to 64 MiB).");

    public static final ConfigOption<Integer> MAX_TENSORS = ConfigOptions.key("limits.max-tensors")
            .intType()
            .defaultValue(1 << 20)
            .withDescription("Most tensors one manifest may describe.");

    public static final ConfigOption<MemorySize> MAX_MANIFEST_BYTES = ConfigOptions.key("limits.max-manifest-bytes")
            .memoryType()
            .defaultValue(MemorySize.ofMebiBytes(64))
            .withDescription("Largest manifest record the job decodes and keeps in state until its publish completes.");

    public static final ConfigOption<Long> MAX_STEP_JUMP = ConfigOptions.key("limits.max-step-jump")
            .longType()
            .defaultValue(1_000_000L)
            .withDescription("How far a publish's trainer step may be past the model's step watermark (the step "
                    + "of its last published version); a publish further ahead is rejected and quarantined, so "
                    + "one wrong step cannot make every later publish stale. The first publish of a model, or "
                    + "the first after `weightpub reset-step` without --step, is not bounded.");

    /** Prefix of Kafka client properties passed through to every consumer and producer (TLS, SASL, ...). */
    public static final String KAFKA_PROPERTY_PREFIX = "kafka.";

    private JobOptions() {}
}
