package io.weightpub.job.assembly;

import java.util.Map;
import java.util.TreeMap;

/**
 * What the job knows about one publish still in flight: sizes, which chunks of which bucket have
 * arrived, the manifest once it arrives, and where in Kafka the publish's records are. Metadata
 * only: the chunk bytes flow on to the sink and are never kept here.
 */
final class PublishProgress {

    /** Chunks seen in one bucket. */
    static final class BucketProgress {
        final long offset;
        final long size;
        final int chunkCount;
        final long[] seen;
        int seenCount;

        BucketProgress(long offset, long size, int chunkCount) {
            this(offset, size, chunkCount, new long[(chunkCount + 63) >>> 6], 0);
        }

        BucketProgress(long offset, long size, int chunkCount, long[] seen, int seenCount) {
            this.offset = offset;
            this.size = size;
            this.chunkCount = chunkCount;
            this.seen = seen;
            this.seenCount = seenCount;
        }

        boolean isSeen(int chunk) {
            return (seen[chunk >>> 6] & (1L << (chunk & 63))) != 0;
        }

        void markSeen(int chunk) {
            seen[chunk >>> 6] |= 1L << (chunk & 63);
            seenCount++;
        }

        boolean isComplete() {
            return seenCount == chunkCount;
        }
    }

    final String modelId;
    final String publishId;
    final long step;
    final long versionBytes;
    final BucketProgress[] buckets;
    final long firstSeenMs;
    long lastSeenMs;
    long stagedBytes;
    byte[] manifest;
    /**
     * The size every chunk of the publish is cut at: the manifest's once it arrived, before that the
     * size its first chunks implied; -1 while unknown. Kept decoded so checking a chunk never decodes
     * the manifest.
     */
    int chunkSize = -1;
    int manifestPartition = -1;
    long manifestOffset = -1;
    /** Per partition of the chunks topic: the lowest and highest offset of this publish's chunks. */
    final TreeMap<Integer, long[]> chunkRanges;

    PublishProgress(String modelId, String publishId, long step, long versionBytes, int bucketCount, long nowMs) {
        this(modelId, publishId, step, versionBytes, new BucketProgress[bucketCount], nowMs, nowMs, 0, null, -1, -1, -1,
                new TreeMap<>());
    }

    PublishProgress(
            String modelId,
            String publishId,
            long step,
            long versionBytes,
            BucketProgress[] buckets,
            long firstSeenMs,
            long lastSeenMs,
            long stagedBytes,
            byte[] manifest,
            int chunkSize,
            int manifestPartition,
            long manifestOffset,
            TreeMap<Integer, long[]> chunkRanges) {
        this.modelId = modelId;
        this.publishId = publishId;
        this.step = step;
        this.versionBytes = versionBytes;
        this.buckets = buckets;
        this.firstSeenMs = firstSeenMs;
        this.lastSeenMs = lastSeenMs;
        this.stagedBytes = stagedBytes;
        this.manifest = manifest;
        this.chunkSize = chunkSize;
        this.manifestPartition = manifestPartition;
        this.manifestOffset = manifestOffset;
        this.chunkRanges = chunkRanges;
    }

    void recordChunkOffset(int partition, long offset) {
        long[] range = chunkRanges.get(partition);
        if (range == null) {
            chunkRanges.put(partition, new long[] {offset, offset});
        } else {
            range[0] = Math.min(range[0], offset);
            range[1] = Math.max(range[1], offset);
        }
    }

    boolean allChunksSeen() {
        for (BucketProgress bucket : buckets) {
            if (bucket == null || !bucket.isComplete()) {
                return false;
            }
        }
        return true;
    }

    int chunksSeen() {
        int seen = 0;
        for (BucketProgress bucket : buckets) {
            seen += bucket == null ? 0 : bucket.seenCount;
        }
        return seen;
    }

    Map<Integer, long[]> chunkRanges() {
        return chunkRanges;
    }
}
