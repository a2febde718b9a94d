package io.weightpub.job.assembly;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

/** State format of {@link PublishProgress}. */
final class PublishProgressSerializer implements SimpleVersionedSerializer<PublishProgress> {

    static final PublishProgressSerializer INSTANCE = new PublishProgressSerializer();
    private static final int VERSION = 1;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(PublishProgress progress) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256 + progress.buckets.length * 32);
        out.writeUTF(progress.modelId);
        out.writeUTF(progress.publishId);
        out.writeLong(progress.step);
        out.writeLong(progress.versionBytes);
        out.writeLong(progress.firstSeenMs);
        out.writeLong(progress.lastSeenMs);
        out.writeLong(progress.stagedBytes);
        out.writeInt(progress.buckets.length);
        for (PublishProgress.BucketProgress bucket : progress.buckets) {
            out.writeBoolean(bucket != null);
            if (bucket != null) {
                out.writeLong(bucket.offset);
                out.writeLong(bucket.size);
                out.writeInt(bucket.chunkCount);
                out.writeInt(bucket.seenCount);
                for (long word : bucket.seen) {
                    out.writeLong(word);
                }
            }
        }
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
        return out.getCopyOfBuffer();
    }

    @Override
    public PublishProgress deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION) {
            throw new IOException("publish progress state of version " + version + ", this job reads " + VERSION);
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        String modelId = in.readUTF();
        String publishId = in.readUTF();
        long step = in.readLong();
        long versionBytes = in.readLong();
        long firstSeenMs = in.readLong();
        long lastSeenMs = in.readLong();
        long stagedBytes = in.readLong();
        PublishProgress.BucketProgress[] buckets = new PublishProgress.BucketProgress[in.readInt()];
        for (int i = 0; i < buckets.length; i++) {
            if (in.readBoolean()) {
                long offset = in.readLong();
                long size = in.readLong();
                int chunkCount = in.readInt();
                int seenCount = in.readInt();
                long[] seen = new long[(chunkCount + 63) >>> 6];
                for (int w = 0; w < seen.length; w++) {
                    seen[w] = in.readLong();
                }
                buckets[i] = new PublishProgress.BucketProgress(offset, size, chunkCount, seen, seenCount);
            }
        }
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
        return new PublishProgress(modelId, publishId, step, versionBytes, buckets, firstSeenMs, lastSeenMs,
                stagedBytes, manifest, chunkSize, manifestPartition, manifestOffset, chunkRanges);
    }
}
