package io.weightpub.sink.internal;

import org.apache.flink.annotation.Internal;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;

/** Version 2: the fields of {@link FlipCommittable} in order; version 1 (without the origin) is still read. */
@Internal
public final class FlipCommittableSerializer implements SimpleVersionedSerializer<FlipCommittable> {

    public static final FlipCommittableSerializer INSTANCE = new FlipCommittableSerializer();
    private static final int VERSION = 2;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(FlipCommittable c) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(128);
        out.writeInt(c.worker());
        out.writeUTF(c.modelId());
        out.writeUTF(c.publishId());
        out.writeLong(c.version());
        out.writeLong(c.contentVersion());
        out.writeLong(c.step());
        out.writeLong(c.versionBytes());
        out.writeLong(c.stagedAtMillis());
        out.writeUTF(c.origin());
        return out.getCopyOfBuffer();
    }

    @Override
    public FlipCommittable deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION && version != 1) {
            throw new IOException("flip committable serializer version " + version + " is unknown (knows " + VERSION + ")");
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        return new FlipCommittable(in.readInt(), in.readUTF(), in.readUTF(), in.readLong(), in.readLong(),
                in.readLong(), in.readLong(), in.readLong(), version >= 2 ? in.readUTF() : "");
    }
}
