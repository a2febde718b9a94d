package io.weightpub.ops;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The settings of one topic role from {@code topics.properties}.
 *
 * @param role    the role, e.g. {@code chunks}; the topic is {@code <prefix>.<role>}
 * @param configs Kafka topic settings ({@code cleanup.policy}, {@code retention.ms}, ...)
 */
@PublicEvolving
public record TopicSpec(String role, int partitions, short replicationFactor, Map<String, String> configs) {

    public TopicSpec {
        if (partitions < 1) {
            throw new IllegalArgumentException(role + ": partitions must be at least 1, got " + partitions);
        }
        if (replicationFactor < 1) {
            throw new IllegalArgumentException(role + ": replication factor must be at least 1, got " + replicationFactor);
        }
        configs = Collections.unmodifiableMap(new TreeMap<>(configs));
    }

    public String topic(String prefix) {
        return prefix + "." + role;
    }

    /** Whether the role's cleanup policy keeps the latest record per key rather than deleting by age or size. */
    public boolean compacted() {
        return configs.getOrDefault("cleanup.policy", "delete").contains("compact");
    }
}
