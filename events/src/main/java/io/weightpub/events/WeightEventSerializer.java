package io.weightpub.events;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/** Flink's wire format for {@link WeightEvent} between operators: fields in order, payload raw. */
@PublicEvolving
public final class WeightEventSerializer extends TypeSerializerSingleton<WeightEvent> {

    private static final long serialVersionUID = 1L;
    public static final WeightEventSerializer INSTANCE = new WeightEventSerializer();
    private static final WeightEvent.Kind[] KINDS = WeightEvent.Kind.values();

    @Override
    public boolean isImmutableType() {
        return true;
    }

    @Override
    public WeightEvent createInstance() {
        return null;
    }

    @Override
    public WeightEvent copy(WeightEvent from) {
        return from;
    }

    @Override
    public WeightEvent copy(WeightEvent from, WeightEvent reuse) {
        return from;
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(WeightEvent event, DataOutputView out) throws IOException {
        out.writeByte(event.kind().ordinal());
        out.writeUTF(event.modelId());
        out.writeUTF(event.publishId());
        out.writeLong(event.step());
        out.writeLong(event.version());
        out.writeLong(event.contentVersion());
        out.writeLong(event.versionBytes());
        out.writeLong(event.versionOffset());
        out.writeInt(event.bucketIndex());
        out.writeInt(event.chunkIndex());
        out.writeLong(event.bucketSize());
        out.writeInt(event.sourcePartition());
        out.writeLong(event.sourceOffset());
        if (event.payload() == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(event.payloadLength());
            out.write(event.payload(), event.payloadOffset(), event.payloadLength());
        }
        writeBytes(event.manifest(), out);
        writeBytes(event.location(), out);
        out.writeBoolean(event.reason() != null);
        if (event.reason() != null) {
            out.writeUTF(event.reason());
        }
    }

    @Override
    public WeightEvent deserialize(DataInputView in) throws IOException {
        WeightEvent.Kind kind = KINDS[in.readByte()];
        String modelId = in.readUTF();
        String publishId = in.readUTF();
        long step = in.readLong();
        long version = in.readLong();
        long contentVersion = in.readLong();
        long versionBytes = in.readLong();
        long versionOffset = in.readLong();
        int bucketIndex = in.readInt();
        int chunkIndex = in.readInt();
        long bucketSize = in.readLong();
        int sourcePartition = in.readInt();
        long sourceOffset = in.readLong();
        byte[] payload = readBytes(in);
        byte[] manifest = readBytes(in);
        byte[] location = readBytes(in);
        String reason = in.readBoolean() ? in.readUTF() : null;
        return WeightEvent.restore(kind, modelId, publishId, step, version, contentVersion, versionBytes,
                versionOffset, bucketIndex, chunkIndex, bucketSize, sourcePartition, sourceOffset, payload, manifest, location, reason);
    }

    @Override
    public WeightEvent deserialize(WeightEvent reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<WeightEvent> snapshotConfiguration() {
        return new WeightEventSerializerSnapshot();
    }

    private static void writeBytes(byte[] bytes, DataOutputView out) throws IOException {
        if (bytes == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(bytes.length);
            out.write(bytes);
        }
    }

    private static byte[] readBytes(DataInputView in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            return null;
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        return bytes;
    }

    /** Snapshot for state compatibility; the format has one version so far. */
    public static final class WeightEventSerializerSnapshot extends SimpleTypeSerializerSnapshot<WeightEvent> {
        public WeightEventSerializerSnapshot() {
            super(() -> INSTANCE);
        }
    }
}
