package io.weightpub.job.assembly;

import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PublishProgressSerializerTest {

    @Test
    void stateOfFormatOneStillRestores() throws Exception {
        // The layout of format 1: a slot per declared bucket with a bitmap of its declared chunks.
        DataOutputSerializer out = new DataOutputSerializer(256);
        out.writeUTF("m");
        out.writeUTF("p");
        out.writeLong(7); // step
        out.writeLong(3000); // version bytes
        out.writeLong(1); // first seen
        out.writeLong(2); // last seen
        out.writeLong(1000); // staged bytes
        out.writeInt(3); // buckets
        out.writeBoolean(false);
        out.writeBoolean(true);
        out.writeLong(1000);
        out.writeLong(2000);
        out.writeInt(2); // chunks
        out.writeInt(1); // seen
        out.writeLong(0b10L);
        out.writeBoolean(false);
        out.writeInt(-1); // no manifest
        out.writeInt(1000); // chunk size
        out.writeInt(-1);
        out.writeLong(-1);
        out.writeInt(1);
        out.writeInt(0);
        out.writeLong(5);
        out.writeLong(9);

        PublishProgress progress = PublishProgressSerializer.INSTANCE.deserialize(
                PublishProgressSerializer.BITMAP_VERSION, out.getCopyOfBuffer());

        assertThat(progress.bucketCount).isEqualTo(3);
        assertThat(progress.buckets).containsOnlyKeys(1);
        assertThat(progress.bucket(1).isSeen(1)).isTrue();
        assertThat(progress.bucket(1).isSeen(0)).isFalse();
        assertThat(progress.chunkSize).isEqualTo(1000);
        assertThat(progress.chunkRanges().get(0)).containsExactly(5, 9);
    }

    @Test
    void currentFormatRoundTrips() throws Exception {
        PublishProgress progress = new PublishProgress("m", "p", 7, 3000, 3, 1);
        PublishProgress.BucketProgress bucket = new PublishProgress.BucketProgress(1000, 2000, 2);
        bucket.markSeen(1);
        progress.addBucket(1, bucket);
        progress.manifest = new byte[] {1, 2};
        progress.recordChunkOffset(0, 5);

        PublishProgress copy = PublishProgressSerializer.INSTANCE.deserialize(
                PublishProgressSerializer.INSTANCE.getVersion(), PublishProgressSerializer.INSTANCE.serialize(progress));

        assertThat(copy.buckets).containsOnlyKeys(1);
        assertThat(copy.bucket(1).isSeen(1)).isTrue();
        assertThat(copy.bucket(1).seenCount()).isEqualTo(1);
        assertThat(copy.manifest).containsExactly(1, 2);
        assertThat(copy.chunkRanges().get(0)).containsExactly(5, 5);
    }
}
