package io.weightpub.job.assembly;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * State format of {@link PublishAssembly}. Version 2 keeps only the buckets that arrived and their
 * seen chunks as ranges; version 1 (a slot per declared bucket, a bitmap per declared chunk) is
 * still read, so checkpoints of earlier releases restore.
 */
final class PublishAssemblySerializer implements SimpleVersionedSerializer<PublishAssembly> {

    static final PublishAssemblySerializer INSTANCE = new PublishAssemblySerializer();
    static final int BITMAP_VERSION = 1;
    private static final int VERSION = 2;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(PublishAssembly progress) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256 + progress.buckets.size() * 40);
        out.writeUTF(progress.modelId);
        out.writeUTF(progress.publishId);
        out.writeLong(progress.step);
        out.writeLong(progress.versionBytes);
        out.writeLong(progress.firstSeenMs);
        out.writeLong(progress.lastSeenMs);
        out.writeLong(progress.stagedBytes);
        out.writeInt(progress.bucketCount);
        out.writeInt(progress.buckets.size());
        for (Map.Entry<Integer, PublishAssembly.BucketProgress> entry : progress.buckets.entrySet()) {
            PublishAssembly.BucketProgress bucket = entry.getValue();
            out.writeInt(entry.getKey());
            out.writeLong(bucket.offset);
            out.writeLong(bucket.size);
            out.writeInt(bucket.chunkCount);
            int[] ranges = bucket.seen.ranges();
            out.writeInt(ranges.length);
            for (int bound : ranges) {
                out.writeInt(bound);
            }
        }
        writeTail(progress, out);
        return out.getCopyOfBuffer();
    }

    @Override
    public PublishAssembly deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION && version != BITMAP_VERSION) {
            throw new IOException("publish progress state of version " + version + ", this job reads "
                    + BITMAP_VERSION + " and " + VERSION);
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        String modelId = in.readUTF();
        String publishId = in.readUTF();
        long step = in.readLong();
        long versionBytes = in.readLong();
        long firstSeenMs = in.readLong();
        long lastSeenMs = in.readLong();
        long stagedBytes = in.readLong();
        int bucketCount = in.readInt();
        TreeMap<Integer, PublishAssembly.BucketProgress> buckets = version == VERSION
                ? readBuckets(in)
                : readBitmapBuckets(in, bucketCount);
        int manifestLength = in.readInt();
        byte[] manifest = null;
        if (manifestLength >= 0) {
            manifest = new byte[manifestLength];
            in.readFully(manifest);
        }
        int chunkSize = in.readInt();
        int manifestPartition = in.readInt();
        long manifestOffset = in.readLong();
        int ranges = in.readInt();
        TreeMap<Integer, long[]> chunkRanges = new TreeMap<>();
        for (int i = 0; i < ranges; i++) {
            chunkRanges.put(in.readInt(), new long[] {in.readLong(), in.readLong()});
        }
        return new PublishAssembly(modelId, publishId, step, versionBytes, bucketCount, buckets, firstSeenMs,
                lastSeenMs, stagedBytes, manifest, chunkSize, manifestPartition, manifestOffset, chunkRanges);
    }

    private static TreeMap<Integer, PublishAssembly.BucketProgress> readBuckets(DataInputDeserializer in)
            throws IOException {
        TreeMap<Integer, PublishAssembly.BucketProgress> buckets = new TreeMap<>();
        int present = in.readInt();
        for (int i = 0; i < present; i++) {
            int index = in.readInt();
            long offset = in.readLong();
            long size = in.readLong();
            int chunkCount = in.readInt();
            int[] ranges = new int[in.readInt()];
            for (int r = 0; r < ranges.length; r++) {
                ranges[r] = in.readInt();
            }
            buckets.put(index, new PublishAssembly.BucketProgress(offset, size, chunkCount, ChunkSet.ofRanges(ranges)));
        }
        return buckets;
    }

    /** Version 1: a presence flag per declared bucket, then a bitmap of its declared chunks. */
    private static TreeMap<Integer, PublishAssembly.BucketProgress> readBitmapBuckets(
            DataInputDeserializer in, int bucketCount) throws IOException {
        TreeMap<Integer, PublishAssembly.BucketProgress> buckets = new TreeMap<>();
        for (int i = 0; i < bucketCount; i++) {
            if (in.readBoolean()) {
                long offset = in.readLong();
                long size = in.readLong();
                int chunkCount = in.readInt();
                in.readInt(); // seen count: the bitmap says it
                long[] seen = new long[(chunkCount + 63) >>> 6];
                for (int w = 0; w < seen.length; w++) {
                    seen[w] = in.readLong();
                }
                buckets.put(i, new PublishAssembly.BucketProgress(offset, size, chunkCount,
                        ChunkSet.ofBitmap(seen, chunkCount)));
            }
        }
        return buckets;
    }

    private static void writeTail(PublishAssembly progress, DataOutputSerializer out) throws IOException {
        out.writeInt(progress.manifest == null ? -1 : progress.manifest.length);
        if (progress.manifest != null) {
            out.write(progress.manifest);
        }
        out.writeInt(progress.chunkSize);
        out.writeInt(progress.manifestPartition);
        out.writeLong(progress.manifestOffset);
        out.writeInt(progress.chunkRanges.size());
        for (Map.Entry<Integer, long[]> range : progress.chunkRanges.entrySet()) {
            out.writeInt(range.getKey());
            out.writeLong(range.getValue()[0]);
            out.writeLong(range.getValue()[1]);
        }
    }
}
