package io.weightpub.schemas;

import org.apache.flink.annotation.PublicEvolving;

/** A record that is not a well-formed single-object-encoded record of the expected type. */
@PublicEvolving
public final class WireFormatException extends Exception {

    /** What exactly is wrong with the bytes. */
    public enum Kind {
        /** Shorter than the single-object header (2 marker bytes + 8 fingerprint bytes). */
        TOO_SHORT,
        /** The first two bytes are not the Avro single-object marker C3 01. */
        BAD_MARKER,
        /** The schema fingerprint names no writer schema this reader knows. */
        UNKNOWN_SCHEMA,
        /** The datum ends before the schema says it should. */
        TRUNCATED,
        /** The datum does not decode under the writer schema (bad lengths, bad union index, ...). */
        MALFORMED,
        /** The datum decoded but bytes follow it. */
        TRAILING_BYTES
    }

    private final Kind kind;

    public WireFormatException(Kind kind, String message) {
        super(kind + ": " + message);
        this.kind = kind;
    }

    public WireFormatException(Kind kind, String message, Throwable cause) {
        super(kind + ": " + message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
