package io.weightpub.job.source;

import org.apache.flink.annotation.Internal;

import java.util.Objects;

/**
 * One record of an input topic, undecoded, with where it came from. The job decodes it once: a
 * chunk in the chunk checker chained to the source, a manifest or control record in the
 * coordinator of the model its Kafka key names (it crosses the network raw).
 */
@Internal
public final class InputRecord {

    /** Which input topic the record was read from. */
    public enum Kind {
        CHUNK,
        MANIFEST,
        CONTROL
    }

    /** Key for records whose Kafka key names no model; the checker quarantines them. */
    public static final String NO_MODEL = "";

    private final Kind kind;
    private final String topic;
    private final int partition;
    private final long offset;
    private final long timestamp;
    private final String modelKey;
    private final byte[] value;

    public InputRecord(
            Kind kind, String topic, int partition, long offset, long timestamp, String modelKey, byte[] value) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.topic = Objects.requireNonNull(topic, "topic");
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
        this.modelKey = Objects.requireNonNull(modelKey, "modelKey");
        this.value = value;
    }

    public Kind kind() {
        return kind;
    }

    public String topic() {
        return topic;
    }

    public int partition() {
        return partition;
    }

    public long offset() {
        return offset;
    }

    public long timestamp() {
        return timestamp;
    }

    /** The model named by the record's Kafka key; {@link #NO_MODEL} when the key names none. */
    public String modelKey() {
        return modelKey;
    }

    /** The raw record value, possibly null (a tombstone). Not copied; never modify. */
    public byte[] value() {
        return value;
    }

    public int valueSize() {
        return value == null ? 0 : value.length;
    }

    /** "topic/partition@offset", for error messages. */
    public String coordinates() {
        return topic + "/" + partition + "@" + offset;
    }

    @Override
    public String toString() {
        return kind + "{" + coordinates() + ", model=" + modelKey + ", bytes=" + valueSize() + "}";
    }
}
