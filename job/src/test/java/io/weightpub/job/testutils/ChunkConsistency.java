package io.weightpub.job.testutils;

import io.weightpub.job.JobOptions;
import io.weightpub.schemas.WeightChunk;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Whether one chunk, seen alone as the first record of its publish, proves itself a lie: recomputed
 * here from the numbers it declares (and the job's default limits), independently of the job's
 * checks, so a hostile generator can say which answer it demands. A chunk that is consistent with
 * some valid publish (for example a non-last bucket of a version larger than the template's) cannot
 * be refuted until the rest of its publish fails to arrive.
 */
public final class ChunkConsistency {

    private static final long MAX_VERSION_BYTES = JobOptions.MAX_VERSION_BYTES.defaultValue().getBytes();
    private static final int MAX_BUCKETS = JobOptions.MAX_BUCKETS.defaultValue();
    private static final int MAX_CHUNKS = JobOptions.MAX_CHUNKS.defaultValue();

    private ChunkConsistency() {}

    /** True when some valid publish cut at {@code chunkSize} could contain this chunk. */
    public static boolean consistentAlone(WeightChunk chunk, int chunkSize) {
        long versionBytes = chunk.getVersionBytes();
        int buckets = chunk.getBucketCount();
        int bucket = chunk.getBucketIndex();
        long offset = chunk.getBucketOffset();
        long size = chunk.getBucketSize();
        if (versionBytes < 0 || versionBytes > MAX_VERSION_BYTES || buckets < 1 || buckets > MAX_BUCKETS
                || buckets > Math.max(1, versionBytes) || bucket < 0 || bucket >= buckets) {
            return false;
        }
        // Buckets lie end to end from 0: the first starts at 0, the last ends at the version's end.
        if (offset < 0 || size < 0 || offset > versionBytes || size > versionBytes - offset
                || bucket == 0 && offset != 0 || bucket == buckets - 1 && offset + size != versionBytes) {
            return false;
        }
        long chunks = size == 0 ? 1 : (size + chunkSize - 1) / chunkSize;
        int index = chunk.getChunkIndex();
        int length = chunk.getPayload().remaining();
        if (chunk.getChunkCount() != chunks || chunks > MAX_CHUNKS || index < 0 || index >= chunks
                || chunk.getChunkOffset() != (long) index * chunkSize
                || length != Math.min(chunkSize, size - chunk.getChunkOffset())) {
            return false;
        }
        ByteBuffer payload = chunk.getPayload().duplicate();
        CRC32C crc = new CRC32C();
        crc.update(payload);
        return (int) crc.getValue() == chunk.getCrc32c();
    }
}
