package io.weightpub.job.assembly;

import io.weightpub.job.source.InputRecord;
import io.weightpub.schemas.ChunkView;
import org.apache.flink.annotation.Internal;

import java.util.Objects;

/**
 * What the coordinator learns of one chunk record a {@link ChunkChecker} checked: everything the
 * chunk declares, where it came from, and why it was refused (null when it passed). Never the
 * payload: the payload went from the checker straight to the workers. About 150 bytes on the wire.
 */
@Internal
public final class ChunkReceipt {

    private final String modelId;
    private final String publishId;
    private final long step;
    private final long versionBytes;
    private final int bucketCount;
    private final int bucketIndex;
    private final long bucketOffset;
    private final long bucketSize;
    private final int chunkCount;
    private final int chunkIndex;
    private final long chunkOffset;
    private final int payloadLength;
    private final int crc32c;
    private final int partition;
    private final long offset;
    private final long timestamp;
    private final int recordBytes;
    private final String problem;
    private final boolean crcMismatch;

    ChunkReceipt(String modelId, String publishId, long step, long versionBytes, int bucketCount, int bucketIndex,
            long bucketOffset, long bucketSize, int chunkCount, int chunkIndex, long chunkOffset, int payloadLength,
            int crc32c, int partition, long offset, long timestamp, int recordBytes, String problem,
            boolean crcMismatch) {
        this.modelId = Objects.requireNonNull(modelId, "modelId");
        this.publishId = Objects.requireNonNull(publishId, "publishId");
        this.step = step;
        this.versionBytes = versionBytes;
        this.bucketCount = bucketCount;
        this.bucketIndex = bucketIndex;
        this.bucketOffset = bucketOffset;
        this.bucketSize = bucketSize;
        this.chunkCount = chunkCount;
        this.chunkIndex = chunkIndex;
        this.chunkOffset = chunkOffset;
        this.payloadLength = payloadLength;
        this.crc32c = crc32c;
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
        this.recordBytes = recordBytes;
        this.problem = problem;
        this.crcMismatch = crcMismatch;
    }

    /**
     * Longest text a receipt carries: a publish id longer than any valid one (so the coordinator
     * still sees it is invalid) and a reason, both cut to fit Flink's string format.
     */
    static final int MAX_TEXT_CHARS = 2048;

    /** The receipt of a decoded chunk record, not yet judged. */
    static ChunkReceipt of(ChunkView chunk, InputRecord record) {
        return new ChunkReceipt(chunk.modelId(), chunk.publishId(), chunk.step(), chunk.versionBytes(),
                chunk.bucketCount(), chunk.bucketIndex(), chunk.bucketOffset(), chunk.bucketSize(), chunk.chunkCount(),
                chunk.chunkIndex(), chunk.chunkOffset(), chunk.payloadLength(), chunk.crc32c(), record.partition(),
                record.offset(), record.timestamp(), record.valueSize(), null, false);
    }

    /**
     * This receipt, refused for {@code why}; {@code crc}: only its payload's CRC32C failed. Its
     * publish id is cut (one too long to be valid stays too long), so it fits Flink's string format.
     */
    ChunkReceipt refused(String why, boolean crc) {
        return new ChunkReceipt(modelId, clip(publishId), step, versionBytes, bucketCount, bucketIndex, bucketOffset,
                bucketSize, chunkCount, chunkIndex, chunkOffset, payloadLength, crc32c, partition, offset, timestamp,
                recordBytes, clip(Objects.requireNonNull(why, "why")), crc);
    }

    private static String clip(String text) {
        return text.length() <= MAX_TEXT_CHARS ? text : text.substring(0, MAX_TEXT_CHARS) + "...";
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

    public long versionBytes() {
        return versionBytes;
    }

    public int bucketCount() {
        return bucketCount;
    }

    public int bucketIndex() {
        return bucketIndex;
    }

    public long bucketOffset() {
        return bucketOffset;
    }

    public long bucketSize() {
        return bucketSize;
    }

    public int chunkCount() {
        return chunkCount;
    }

    public int chunkIndex() {
        return chunkIndex;
    }

    public long chunkOffset() {
        return chunkOffset;
    }

    /** Where the chunk's bytes go in the version: its bucket's offset plus its offset in the bucket. */
    public long versionOffset() {
        return bucketOffset + chunkOffset;
    }

    public int payloadLength() {
        return payloadLength;
    }

    /** The CRC32C the record declares for its payload. */
    public int crc32c() {
        return crc32c;
    }

    /** Partition of the chunks topic the record was read from. */
    public int partition() {
        return partition;
    }

    public long offset() {
        return offset;
    }

    public long timestamp() {
        return timestamp;
    }

    /** Size of the record's value: what a dead letter written by the coordinator reports. */
    public int recordBytes() {
        return recordBytes;
    }

    /** Why the checker refused the chunk (it dead-lettered it and did not stage it); null when it passed. */
    public String problem() {
        return problem;
    }

    /** Whether the one thing wrong with the chunk is its payload's CRC32C. */
    public boolean crcMismatch() {
        return crcMismatch;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ChunkReceipt r)) {
            return false;
        }
        return modelId.equals(r.modelId) && publishId.equals(r.publishId) && step == r.step
                && versionBytes == r.versionBytes && bucketCount == r.bucketCount && bucketIndex == r.bucketIndex
                && bucketOffset == r.bucketOffset && bucketSize == r.bucketSize && chunkCount == r.chunkCount
                && chunkIndex == r.chunkIndex && chunkOffset == r.chunkOffset && payloadLength == r.payloadLength
                && crc32c == r.crc32c && partition == r.partition && offset == r.offset && timestamp == r.timestamp
                && recordBytes == r.recordBytes && Objects.equals(problem, r.problem) && crcMismatch == r.crcMismatch;
    }

    @Override
    public int hashCode() {
        return Objects.hash(modelId, publishId, bucketIndex, chunkIndex, partition, offset);
    }

    @Override
    public String toString() {
        return "ChunkReceipt{" + modelId + "/" + publishId + " step " + step + ", bucket " + bucketIndex + "/"
                + bucketCount + " chunk " + chunkIndex + "/" + chunkCount + ", " + payloadLength + " bytes at "
                + versionOffset() + " of " + versionBytes + ", partition " + partition + "@" + offset
                + (problem == null ? "" : ", refused: " + problem) + "}";
    }
}
