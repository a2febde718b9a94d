package io.weightpub.job.assembly;

import io.weightpub.job.internal.VersionedStateSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PublishAssemblySerializerTest {

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

        PublishAssembly progress = PublishAssemblySerializer.INSTANCE.deserialize(
                PublishAssemblySerializer.BITMAP_VERSION, out.getCopyOfBuffer());

        assertThat(progress.bucketCount).isEqualTo(3);
        assertThat(progress.buckets).containsOnlyKeys(1);
        assertThat(progress.bucket(1).isSeen(1)).isTrue();
        assertThat(progress.bucket(1).isSeen(0)).isFalse();
        assertThat(progress.chunkSize).isEqualTo(1000);
        assertThat(progress.chunkRanges().get(0)).containsExactly(5, 9);
    }

    @Test
    void currentFormatRoundTrips() throws Exception {
        PublishAssembly progress = new PublishAssembly("m", "p", 7, 3000, 3, 1);
        PublishAssembly.BucketProgress bucket = new PublishAssembly.BucketProgress(1000, 2000, 2);
        bucket.markSeen(1);
        progress.addBucket(1, bucket);
        progress.manifest = new byte[] {1, 2};
        progress.recordChunkOffset(0, 5);

        PublishAssembly copy = PublishAssemblySerializer.INSTANCE.deserialize(
                PublishAssemblySerializer.INSTANCE.getVersion(), PublishAssemblySerializer.INSTANCE.serialize(progress));

        assertThat(copy.buckets).containsOnlyKeys(1);
        assertThat(copy.bucket(1).isSeen(1)).isTrue();
        assertThat(copy.bucket(1).seenCount()).isEqualTo(1);
        assertThat(copy.manifest).containsExactly(1, 2);
        assertThat(copy.chunkRanges().get(0)).containsExactly(5, 5);
    }

    @Test
    void aSavepointWrittenBeforeTheFormatWasRenamedRestores() throws Exception {
        // Savepoints name the format class; this one was io.weightpub.job.assembly.PublishProgressSerializer.
        DataOutputSerializer out = new DataOutputSerializer(128);
        out.writeUTF("io.weightpub.job.assembly.PublishProgressSerializer");
        TypeSerializerSnapshot<PublishAssembly> old = new VersionedStateSerializer.Snapshot<>();
        old.readSnapshot(old.getCurrentVersion(), new DataInputDeserializer(out.getCopyOfBuffer()),
                getClass().getClassLoader());

        TypeSerializer<PublishAssembly> current = new VersionedStateSerializer<>(PublishAssemblySerializer.class);
        assertThat(current.snapshotConfiguration().resolveSchemaCompatibility(old).isCompatibleAsIs()).isTrue();
        DataOutputSerializer value = new DataOutputSerializer(256);
        current.serialize(new PublishAssembly("m", "p", 7, 3000, 3, 1), value);
        PublishAssembly restored = old.restoreSerializer().deserialize(new DataInputDeserializer(value.getCopyOfBuffer()));
        assertThat(restored.bucketCount).isEqualTo(3);
    }
}
