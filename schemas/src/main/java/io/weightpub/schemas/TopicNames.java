package io.weightpub.schemas;

import org.apache.flink.annotation.PublicEvolving;

import java.util.List;
import java.util.Objects;

/** The Kafka topics of one deployment, all named {@code <prefix>.<role>}. */
@PublicEvolving
public final class TopicNames {

    public static final String DEFAULT_PREFIX = "weightpub";

    private final String prefix;

    private TopicNames(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        if (prefix.isEmpty() || !prefix.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException(
                    "topic prefix '" + prefix + "' must be non-empty and use only letters, digits, '.', '_' and '-'");
        }
        this.prefix = prefix;
    }

    public static TopicNames of(String prefix) {
        return new TopicNames(prefix);
    }

    public String prefix() {
        return prefix;
    }

    /** Chunk records (payload), keyed {@code model/publish/bucket}. */
    public String chunks() {
        return prefix + ".chunks";
    }

    /** Manifests, keyed by model. */
    public String manifests() {
        return prefix + ".manifests";
    }

    /** Control records (rollback, abort), keyed by model. */
    public String control() {
        return prefix + ".control";
    }

    /** Per-worker status records; compacted, keyed {@code model/worker}. */
    public String status() {
        return prefix + ".status";
    }

    /** Version index; compacted, keyed {@code model/version}. */
    public String versions() {
        return prefix + ".versions";
    }

    /** Quarantined input records with the reason. */
    public String deadLetters() {
        return prefix + ".dlq";
    }

    /** The topics the job reads. */
    public List<String> inputs() {
        return List.of(chunks(), manifests(), control());
    }

    public List<String> all() {
        return List.of(chunks(), manifests(), control(), status(), versions(), deadLetters());
    }

    @Override
    public String toString() {
        return "TopicNames{" + prefix + "}";
    }
}
