package io.weightpub.events;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Arrays;
import java.util.Objects;

/**
 * What the job tells every sink subtask: stage a chunk's bytes into the shadow slot of a publish,
 * commit a complete and checked publish as a published version, or abort a publish. Commit, abort
 * and bucket-complete events of one model come from its one coordinator subtask, so each sink
 * subtask sees them in the order the job decided them. Stage events come from the job's parallel
 * chunk checkers on other channels: before, after or between the decisions about their publish
 * (within one checkpoint: every chunk a commit counts reaches the sink before the barrier after the
 * commit).
 */
@PublicEvolving
public final class WeightEvent {

    /** The kind of event. */
    public enum Kind {
        /** Write {@link #payload()} at {@link #versionOffset()} of the publish's shadow slot. */
        STAGE_CHUNK,
        /**
         * Every chunk of the publish has been checked by the job and sent to the workers (the last
         * ones may still be in flight); once they are staged, verify the bucket digests of {@link
         * #manifest()} on the staged bytes, then make it version {@link #version()}.
         */
        COMMIT_VERSION,
        /** Drop the publish's shadow slot; it will never be committed. */
        ABORT_VERSION,
        /**
         * Every chunk of bucket {@link #bucketIndex()}, the {@link #bucketSize()} bytes at {@link
         * #versionOffset()}, has been sent: the worker may hash it now, while later buckets still
         * stream, rather than when the commit comes.
         */
        BUCKET_COMPLETE
    }

    private final Kind kind;
    private final String modelId;
    private final String publishId;
    private final long step;
    private final long version;
    private final long contentVersion;
    private final long versionBytes;
    private final long versionOffset;
    private final int bucketIndex;
    private final int chunkIndex;
    private final long bucketSize;
    private final int sourcePartition;
    private final long sourceOffset;
    private final byte[] payload;
    private final int payloadOffset;
    private final int payloadLength;
    private final byte[] manifest;
    private final byte[] location;
    private final String reason;

    private WeightEvent(
            Kind kind,
            String modelId,
            String publishId,
            long step,
            long version,
            long contentVersion,
            long versionBytes,
            long versionOffset,
            int bucketIndex,
            int chunkIndex,
            long bucketSize,
            int sourcePartition,
            long sourceOffset,
            byte[] payload,
            int payloadOffset,
            int payloadLength,
            byte[] manifest,
            byte[] location,
            String reason) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.modelId = Objects.requireNonNull(modelId, "modelId");
        this.publishId = Objects.requireNonNull(publishId, "publishId");
        this.step = step;
        this.version = version;
        this.contentVersion = contentVersion;
        this.versionBytes = versionBytes;
        this.versionOffset = versionOffset;
        this.bucketIndex = bucketIndex;
        this.chunkIndex = chunkIndex;
        this.bucketSize = bucketSize;
        this.sourcePartition = sourcePartition;
        this.sourceOffset = sourceOffset;
        this.payload = payload;
        this.payloadOffset = payloadOffset;
        this.payloadLength = payloadLength;
        this.manifest = manifest;
        this.location = location;
        this.reason = reason;
    }

    /**
     * A chunk's bytes at {@code versionOffset} of a publish of {@code versionBytes} bytes in all,
     * read from {@code sourcePartition}/{@code sourceOffset} of the chunks topic (where a sink that
     * lost its staged bytes reads them again).
     */
    public static WeightEvent stageChunk(
            String modelId,
            String publishId,
            long step,
            long versionBytes,
            long versionOffset,
            int bucketIndex,
            int chunkIndex,
            int sourcePartition,
            long sourceOffset,
            byte[] payload) {
        return stageChunk(modelId, publishId, step, versionBytes, versionOffset, bucketIndex, chunkIndex,
                sourcePartition, sourceOffset, payload, 0, payload.length);
    }

    /**
     * As above, with the chunk's bytes a slice of {@code payload} (typically the Kafka record's value
     * itself, so the bytes are not copied out of it).
     */
    public static WeightEvent stageChunk(
            String modelId,
            String publishId,
            long step,
            long versionBytes,
            long versionOffset,
            int bucketIndex,
            int chunkIndex,
            int sourcePartition,
            long sourceOffset,
            byte[] payload,
            int payloadOffset,
            int payloadLength) {
        Objects.requireNonNull(payload, "payload");
        if (payloadOffset < 0 || payloadLength < 0 || payloadOffset + payloadLength > payload.length) {
            throw new IllegalArgumentException(String.format(
                    "chunk %d of bucket %d of publish %s of model %s: payload slice [%d, %d) outside its %d-byte array",
                    chunkIndex, bucketIndex, publishId, modelId, payloadOffset, payloadOffset + payloadLength,
                    payload.length));
        }
        if (versionOffset < 0 || versionOffset + payloadLength > versionBytes) {
            throw new IllegalArgumentException(String.format(
                    "chunk %d of bucket %d of publish %s of model %s: bytes [%d, %d) outside the version's %d bytes",
                    chunkIndex, bucketIndex, publishId, modelId, versionOffset, versionOffset + payloadLength,
                    versionBytes));
        }
        return new WeightEvent(Kind.STAGE_CHUNK, modelId, publishId, step, -1, -1, versionBytes, versionOffset,
                bucketIndex, chunkIndex, -1, sourcePartition, sourceOffset, payload, payloadOffset, payloadLength,
                null, null, null);
    }

    /**
     * The publish is complete: it becomes published version {@code version}, carrying the content
     * of {@code contentVersion} (the same number unless it is a rollback). {@code manifest} is the
     * single-object-encoded {@code VersionManifest}; {@code location} the encoded
     * {@code VersionIndexEntry} that says where the version's chunks are in Kafka, so a worker that
     * lacks some of the bytes (a rollback to a version no longer resident, a restart that lost its
     * memory) reads them again from there.
     */
    public static WeightEvent commitVersion(
            String modelId, String publishId, long step, long version, long contentVersion, long versionBytes,
            byte[] manifest, byte[] location, String reason) {
        Objects.requireNonNull(manifest, "manifest");
        Objects.requireNonNull(location, "location");
        return new WeightEvent(Kind.COMMIT_VERSION, modelId, publishId, step, version, contentVersion, versionBytes,
                -1, -1, -1, -1, -1, -1, null, 0, 0, manifest, location, reason == null ? "" : reason);
    }

    /**
     * Every chunk of bucket {@code bucketIndex}, bytes [{@code bucketOffset}, {@code bucketOffset +
     * bucketSize}) of a version of {@code versionBytes} bytes, has been sent before this event.
     */
    public static WeightEvent bucketComplete(String modelId, String publishId, long step, long versionBytes,
            int bucketIndex, long bucketOffset, long bucketSize) {
        if (bucketOffset < 0 || bucketSize < 0 || bucketOffset + bucketSize > versionBytes) {
            throw new IllegalArgumentException(String.format(
                    "bucket %d of publish %s of model %s: bytes [%d, %d) outside the version's %d bytes", bucketIndex,
                    publishId, modelId, bucketOffset, bucketOffset + bucketSize, versionBytes));
        }
        return new WeightEvent(Kind.BUCKET_COMPLETE, modelId, publishId, step, -1, -1, versionBytes, bucketOffset,
                bucketIndex, -1, bucketSize, -1, -1, null, 0, 0, null, null, null);
    }

    /** The publish will never complete; {@code reason} says why. */
    public static WeightEvent abortVersion(String modelId, String publishId, long step, String reason) {
        return new WeightEvent(Kind.ABORT_VERSION, modelId, publishId, step, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                null, 0, 0, null, null, Objects.requireNonNull(reason, "reason"));
    }

    /** Rebuilds an event field by field; for serializers only. */
    static WeightEvent restore(
            Kind kind, String modelId, String publishId, long step, long version, long contentVersion,
            long versionBytes, long versionOffset, int bucketIndex, int chunkIndex, long bucketSize,
            int sourcePartition, long sourceOffset, byte[] payload, byte[] manifest, byte[] location, String reason) {
        return new WeightEvent(kind, modelId, publishId, step, version, contentVersion, versionBytes, versionOffset,
                bucketIndex, chunkIndex, bucketSize, sourcePartition, sourceOffset, payload, 0,
                payload == null ? 0 : payload.length, manifest, location, reason);
    }

    public Kind kind() {
        return kind;
    }

    public String modelId() {
        return modelId;
    }

    public String publishId() {
        return publishId;
    }

    public long step() {
        return step;
    }

    /** Published version; -1 for {@link Kind#STAGE_CHUNK} and {@link Kind#ABORT_VERSION}. */
    public long version() {
        return version;
    }

    public long contentVersion() {
        return contentVersion;
    }

    /** Size in bytes of the bucket of a {@link Kind#BUCKET_COMPLETE} event; -1 for other kinds. */
    public long bucketSize() {
        return bucketSize;
    }

    public long versionBytes() {
        return versionBytes;
    }

    public long versionOffset() {
        return versionOffset;
    }

    public int bucketIndex() {
        return bucketIndex;
    }

    public int chunkIndex() {
        return chunkIndex;
    }

    /** Partition of the chunks topic the chunk was read from; -1 unless {@link Kind#STAGE_CHUNK}. */
    public int sourcePartition() {
        return sourcePartition;
    }

    /** Offset in that partition; -1 unless {@link Kind#STAGE_CHUNK}. */
    public long sourceOffset() {
        return sourceOffset;
    }

    /**
     * The array holding the chunk's bytes, from {@link #payloadOffset()} for {@link
     * #payloadLength()}; not copied, never modify. Null unless {@link Kind#STAGE_CHUNK}.
     */
    public byte[] payload() {
        return payload;
    }

    public int payloadOffset() {
        return payloadOffset;
    }

    public int payloadLength() {
        return payloadLength;
    }

    /** The encoded manifest; null unless {@link Kind#COMMIT_VERSION}. */
    public byte[] manifest() {
        return manifest;
    }

    /** The encoded version-index entry (where the chunks are in Kafka); null unless {@link Kind#COMMIT_VERSION}. */
    public byte[] location() {
        return location;
    }

    public String reason() {
        return reason;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof WeightEvent)) {
            return false;
        }
        WeightEvent that = (WeightEvent) o;
        return kind == that.kind && step == that.step && version == that.version
                && contentVersion == that.contentVersion && versionBytes == that.versionBytes
                && versionOffset == that.versionOffset && bucketIndex == that.bucketIndex
                && chunkIndex == that.chunkIndex && bucketSize == that.bucketSize
                && sourcePartition == that.sourcePartition
                && sourceOffset == that.sourceOffset && modelId.equals(that.modelId) && publishId.equals(that.publishId)
                && payloadLength == that.payloadLength
                && (payload == null ? that.payload == null : that.payload != null && Arrays.equals(payload, payloadOffset,
                        payloadOffset + payloadLength, that.payload, that.payloadOffset,
                        that.payloadOffset + that.payloadLength))
                && Arrays.equals(manifest, that.manifest)
                && Arrays.equals(location, that.location)
                && Objects.equals(reason, that.reason);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, modelId, publishId, version, versionOffset);
    }

    @Override
    public String toString() {
        return kind + "{model=" + modelId + ", publish=" + publishId + ", step=" + step + ", version=" + version
                + (kind == Kind.STAGE_CHUNK
                        ? ", bucket=" + bucketIndex + ", chunk=" + chunkIndex + ", offset=" + versionOffset
                                + ", bytes=" + payloadLength
                        : "")
                + (kind == Kind.BUCKET_COMPLETE
                        ? ", bucket=" + bucketIndex + ", offset=" + versionOffset + ", bytes=" + bucketSize
                        : "")
                + (reason != null && !reason.isEmpty() ? ", reason=" + reason : "") + "}";
    }
}
