package io.weightpub.ops;

import io.weightpub.publisher.ByteSize;
import io.weightpub.publisher.PublishEncoder;
import io.weightpub.schemas.TopicNames;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Checks the existing topics of a deployment against {@code topics.properties} and what the
 * pipeline needs: every topic exists with enough partitions and replicas; {@code cleanup.policy}
 * is what the file says (compaction on {@code status}/{@code versions}, never on {@code chunks} or
 * {@code manifests}); {@code chunks} accepts records of the chunk size in use and every other
 * topic records as large as the file allows; {@code chunks} and {@code manifests} keep records long
 * enough for rollbacks. Immutable.
 */
@PublicEvolving
public final class TopicCheck {

    /**
     * Room a chunk record needs besides its payload: record batch and record headers, the key
     * {@code model/publish/bucket} and the chunk's Avro fields. The publisher's default chunk size
     * (1020 KiB) plus this fits Kafka's default 1 MiB + 12 byte limit.
     */
    public static final int CHUNK_RECORD_OVERHEAD_BYTES = 4096;

    /** The roles whose records a rollback, or a worker that recovers, reads again. */
    public static final Set<String> ROLLBACK_ROLES = Set.of("chunks", "manifests");

    static final String CLEANUP_POLICY = "cleanup.policy";
    static final String RETENTION_MS = "retention.ms";
    static final String RETENTION_BYTES = "retention.bytes";
    static final String MAX_MESSAGE_BYTES = "max.message.bytes";
    private static final List<String> REPORTED_CONFIGS =
            List.of(CLEANUP_POLICY, RETENTION_MS, RETENTION_BYTES, MAX_MESSAGE_BYTES);

    /** What is wrong with a topic. */
    public enum Problem {
        MISSING_TOPIC,
        TOO_FEW_PARTITIONS,
        TOO_FEW_REPLICAS,
        MAX_MESSAGE_BYTES_TOO_SMALL,
        COMPACTED_BUT_NEEDS_RETENTION,
        NOT_COMPACTED,
        RETENTION_TOO_SHORT,
        RETENTION_BYTES_TOO_SMALL
    }

    /** One thing wrong with one topic. */
    public record Finding(String topic, Problem problem, String message) {
        @Override
        public String toString() {
            return topic + ": " + message;
        }
    }

    /**
     * A topic as found.
     *
     * @param partitions        -1 when the topic is missing
     * @param replicationFactor the smallest replica count of its partitions; -1 when missing
     * @param configs           the effective values of the settings the check looks at
     */
    public record TopicState(String topic, boolean exists, int partitions, int replicationFactor,
            Map<String, String> configs) {
        public TopicState {
            configs = Map.copyOf(configs);
        }
    }

    /** The outcome: every topic of the settings as found, and what is wrong. */
    public record Report(List<TopicState> topics, List<Finding> findings) {
        public Report {
            topics = List.copyOf(topics);
            findings = List.copyOf(findings);
        }

        public boolean ok() {
            return findings.isEmpty();
        }

        public List<Finding> findings(String topic) {
            return findings.stream().filter(f -> f.topic().equals(topic)).toList();
        }
    }

    private final TopicSettings settings;
    private final long chunkSizeBytes;
    private final Duration minRetention;
    private final long minRetentionBytes;

    private TopicCheck(Builder builder) {
        this.settings = builder.settings;
        this.chunkSizeBytes = builder.chunkSizeBytes;
        TopicSpec chunks = settings.spec("chunks");
        this.minRetention = builder.minRetention != null
                ? builder.minRetention
                : Duration.ofMillis(configNumber(chunks, RETENTION_MS));
        this.minRetentionBytes = builder.minRetentionBytes >= 0
                ? builder.minRetentionBytes
                : configNumber(chunks, RETENTION_BYTES);
    }

    public static Builder builder() {
        return new Builder();
    }

    public Report run(KafkaConnection connection, TopicNames topics) {
        List<TopicState> states = new ArrayList<>();
        List<Finding> findings = new ArrayList<>();
        try (Admin admin = connection.admin()) {
            for (TopicSpec spec : settings.specs()) {
                TopicState state = describe(admin, connection.timeout(), spec.topic(topics.prefix()));
                states.add(state);
                check(spec, state, findings);
            }
        }
        return new Report(states, findings);
    }

    private void check(TopicSpec spec, TopicState state, List<Finding> findings) {
        String topic = state.topic();
        if (!state.exists()) {
            findings.add(new Finding(topic, Problem.MISSING_TOPIC, "the topic does not exist (expected "
                    + spec.partitions() + " partitions with " + spec.configs() + "; `weightpub topics --create` makes it)"));
            return;
        }
        if (state.partitions() < spec.partitions()) {
            findings.add(new Finding(topic, Problem.TOO_FEW_PARTITIONS, state.partitions() + " partitions, expected at least "
                    + spec.partitions() + " (" + settings.source() + ")"));
        }
        if (state.replicationFactor() < spec.replicationFactor()) {
            findings.add(new Finding(topic, Problem.TOO_FEW_REPLICAS, "replication factor " + state.replicationFactor()
                    + ", expected at least " + spec.replicationFactor()));
        }
        String policy = state.configs().getOrDefault(CLEANUP_POLICY, "delete");
        boolean compacted = policy.contains("compact");
        if (spec.compacted() && !compacted) {
            findings.add(new Finding(topic, Problem.NOT_COMPACTED, CLEANUP_POLICY + "=" + policy
                    + ", expected compact: the latest record per key must stay however old it is"));
        } else if (!spec.compacted() && compacted) {
            findings.add(new Finding(topic, Problem.COMPACTED_BUT_NEEDS_RETENTION, CLEANUP_POLICY + "=" + policy
                    + ", expected " + spec.configs().getOrDefault(CLEANUP_POLICY, "delete")
                    + ": records of one version share keys, so compaction would delete most of them"));
        }
        checkMaxMessageBytes(spec, state, findings);
        if (ROLLBACK_ROLES.contains(spec.role()) && !compacted) {
            checkRetention(spec, state, findings);
        }
    }

    private void checkMaxMessageBytes(TopicSpec spec, TopicState state, List<Finding> findings) {
        long actual = Long.parseLong(state.configs().get(MAX_MESSAGE_BYTES));
        if (spec.role().equals("chunks")) {
            long needed = chunkSizeBytes + CHUNK_RECORD_OVERHEAD_BYTES;
            if (actual < needed) {
                findings.add(new Finding(state.topic(), Problem.MAX_MESSAGE_BYTES_TOO_SMALL, MAX_MESSAGE_BYTES + "="
                        + actual + " is too small for chunks of " + chunkSizeBytes + " bytes ("
                        + ByteSize.format(chunkSizeBytes) + "): a chunk record takes up to " + needed
                        + " bytes; raise it to at least " + needed));
            }
        } else if (spec.configs().containsKey(MAX_MESSAGE_BYTES)) {
            long needed = configNumber(spec, MAX_MESSAGE_BYTES);
            if (actual < needed) {
                findings.add(new Finding(state.topic(), Problem.MAX_MESSAGE_BYTES_TOO_SMALL, MAX_MESSAGE_BYTES + "="
                        + actual + ", expected at least " + needed + " (" + settings.source()
                        + "): larger records would be refused"));
            }
        }
    }

    private void checkRetention(TopicSpec spec, TopicState state, List<Finding> findings) {
        long retentionMs = Long.parseLong(state.configs().get(RETENTION_MS));
        if (retentionMs >= 0 && retentionMs < minRetention.toMillis()) {
            findings.add(new Finding(state.topic(), Problem.RETENTION_TOO_SHORT, RETENTION_MS + "=" + retentionMs
                    + " (" + Duration.ofMillis(retentionMs) + ") is shorter than the " + minRetention.toMillis() + " ("
                    + minRetention + ") rollbacks and recovering workers need"));
        }
        long retentionBytes = Long.parseLong(state.configs().get(RETENTION_BYTES));
        if (spec.role().equals("chunks") && retentionBytes >= 0 && retentionBytes < minRetentionBytes) {
            findings.add(new Finding(state.topic(), Problem.RETENTION_BYTES_TOO_SMALL, RETENTION_BYTES + "="
                    + retentionBytes + " (" + ByteSize.format(retentionBytes) + ") per partition is below the "
                    + minRetentionBytes + " (" + ByteSize.format(minRetentionBytes)
                    + ") rollbacks need (see docs/operations.md, retention sizing)"));
        }
    }

    private static TopicState describe(Admin admin, Duration timeout, String topic) {
        try {
            TopicDescription description = admin.describeTopics(List.of(topic)).topicNameValues().get(topic)
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            int replicas = Integer.MAX_VALUE;
            for (TopicPartitionInfo partition : description.partitions()) {
                replicas = Math.min(replicas, partition.replicas().size());
            }
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config config = admin.describeConfigs(List.of(resource)).values().get(resource)
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            Map<String, String> configs = new LinkedHashMap<>();
            for (String key : REPORTED_CONFIGS) {
                ConfigEntry entry = config.get(key);
                if (entry != null && entry.value() != null) {
                    configs.put(key, entry.value());
                }
            }
            return new TopicState(topic, true, description.partitions().size(),
                    description.partitions().isEmpty() ? 0 : replicas, configs);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return new TopicState(topic, false, -1, -1, Map.of());
            }
            throw new OpsException("could not describe " + topic + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new OpsException("describing " + topic + " got no answer within " + timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OpsException("interrupted while describing " + topic, e);
        }
    }

    private static long configNumber(TopicSpec spec, String key) {
        String value = spec.configs().get(key);
        if (value == null) {
            throw new IllegalArgumentException("the topic settings give " + spec.role() + " no " + key
                    + "; pass the minimum explicitly");
        }
        return Long.parseLong(value);
    }

    public static final class Builder {

        private TopicSettings settings;
        private long chunkSizeBytes = PublishEncoder.DEFAULT_CHUNK_SIZE;
        private Duration minRetention;
        private long minRetentionBytes = -1;

        private Builder() {
        }

        /** What to check against (default: the bundled {@code topics.properties}). */
        public Builder settings(TopicSettings settings) {
            this.settings = Objects.requireNonNull(settings, "settings");
            return this;
        }

        /** The publishers' chunk size (default: the publisher's default, 1020 KiB). */
        public Builder chunkSizeBytes(long chunkSizeBytes) {
            if (chunkSizeBytes < 1 || chunkSizeBytes > PublishEncoder.MAX_CHUNK_SIZE) {
                throw new IllegalArgumentException("chunk size must be between 1 and " + PublishEncoder.MAX_CHUNK_SIZE
                        + " bytes, got " + chunkSizeBytes);
            }
            this.chunkSizeBytes = chunkSizeBytes;
            return this;
        }

        /** The shortest {@code retention.ms} for chunks and manifests (default: chunks' retention.ms in the settings). */
        public Builder minRetention(Duration minRetention) {
            Objects.requireNonNull(minRetention, "minRetention");
            if (minRetention.isNegative()) {
                throw new IllegalArgumentException("minimum retention must not be negative, got " + minRetention);
            }
            this.minRetention = minRetention;
            return this;
        }

        /** The smallest {@code retention.bytes} per chunks partition (default: chunks' retention.bytes in the settings). */
        public Builder minRetentionBytes(long minRetentionBytes) {
            if (minRetentionBytes < 0) {
                throw new IllegalArgumentException("minimum retention bytes must not be negative, got " + minRetentionBytes);
            }
            this.minRetentionBytes = minRetentionBytes;
            return this;
        }

        public TopicCheck build() {
            if (settings == null) {
                settings = TopicSettings.bundled();
            }
            for (String role : ROLLBACK_ROLES) {
                settings.spec(role); // both must be defined: the check is about them
            }
            return new TopicCheck(this);
        }
    }
}
