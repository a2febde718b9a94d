package io.weightpub.job.assembly;

import java.util.Map;
import java.util.TreeMap;

/**
 * What the job knows about one publish still in flight: sizes, which chunks of which bucket have
 * arrived, the manifest once it arrives, and where in Kafka the publish's records are. Metadata
 * only: the chunk bytes flow on to the sink and are never kept here. It grows with the buckets and
 * chunks that arrived, not with the counts they declare.
 */
final class PublishAssembly {

    /** Chunks seen in one bucket. */
    static final class BucketProgress {
        final long offset;
        final long size;
        final int chunkCount;
        final ChunkSet seen;

        BucketProgress(long offset, long size, int chunkCount) {
            this(offset, size, chunkCount, new ChunkSet());
        }

        BucketProgress(long offset, long size, int chunkCount, ChunkSet seen) {
            this.offset = offset;
            this.size = size;
            this.chunkCount = chunkCount;
            this.seen = seen;
        }

        boolean isSeen(int chunk) {
            return seen.contains(chunk);
        }

        void markSeen(int chunk) {
            seen.add(chunk);
        }

        int seenCount() {
            return seen.size();
        }

        boolean isComplete() {
            return seen.size() == chunkCount;
        }
    }

    final String modelId;
    final String publishId;
    final long step;
    final long versionBytes;
    final int bucketCount;
    /** The buckets of which a chunk or the manifest arrived, by index. */
    final TreeMap<Integer, BucketProgress> buckets;
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

    PublishAssembly(String modelId, String publishId, long step, long versionBytes, int bucketCount, long nowMs) {
        this(modelId, publishId, step, versionBytes, bucketCount, new TreeMap<>(), nowMs, nowMs, 0, null, -1, -1, -1,
                new TreeMap<>());
    }

    PublishAssembly(
            String modelId,
            String publishId,
            long step,
            long versionBytes,
            int bucketCount,
            TreeMap<Integer, BucketProgress> buckets,
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
        this.bucketCount = bucketCount;
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

    BucketProgress bucket(int index) {
        return buckets.get(index);
    }

    void addBucket(int index, BucketProgress bucket) {
        buckets.put(index, bucket);
    }

    /** Chunks the buckets known so far declare. */
    long declaredChunks() {
        long chunks = 0;
        for (BucketProgress bucket : buckets.values()) {
            chunks += bucket.chunkCount;
        }
        return chunks;
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
        if (buckets.size() != bucketCount) {
            return false;
        }
        for (BucketProgress bucket : buckets.values()) {
            if (!bucket.isComplete()) {
                return false;
            }
        }
        return true;
    }

    int chunksSeen() {
        int seen = 0;
        for (BucketProgress bucket : buckets.values()) {
            seen += bucket.seenCount();
        }
        return seen;
    }

    Map<Integer, long[]> chunkRanges() {
        return chunkRanges;
    }
}
