package io.weightpub.job;

import io.weightpub.job.assembly.LimitOptions;
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

    // The limits on what a publish may declare; defined next to the checks that enforce them.

    public static final ConfigOption<MemorySize> MAX_VERSION_BYTES = LimitOptions.MAX_VERSION_BYTES;

    public static final ConfigOption<Integer> MAX_BUCKETS = LimitOptions.MAX_BUCKETS;

    public static final ConfigOption<Integer> MAX_CHUNKS = LimitOptions.MAX_CHUNKS;

    public static final ConfigOption<MemorySize> MAX_CHUNK_BYTES = LimitOptions.MAX_CHUNK_BYTES;

    public static final ConfigOption<Integer> MAX_TENSORS = LimitOptions.MAX_TENSORS;

    public static final ConfigOption<MemorySize> MAX_MANIFEST_BYTES = LimitOptions.MAX_MANIFEST_BYTES;

    public static final ConfigOption<Long> MAX_STEP_JUMP = LimitOptions.MAX_STEP_JUMP;

    /** Prefix of Kafka client properties passed through to every consumer and producer (TLS, SASL, ...). */
    public static final String KAFKA_PROPERTY_PREFIX = "kafka.";

    private JobOptions() {}
}
