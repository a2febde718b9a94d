package io.weightpub.job.assembly;

import io.weightpub.events.SerializerTypeInfo;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/** Flink's wire format for {@link ChunkReceipt} between the checkers and the coordinators: its fields in order. */
@Internal
public final class ChunkReceiptSerializer extends TypeSerializerSingleton<ChunkReceipt> {

    private static final long serialVersionUID = 1L;
    public static final ChunkReceiptSerializer INSTANCE = new ChunkReceiptSerializer();
    public static final TypeInformation<ChunkReceipt> TYPE_INFO =
            new SerializerTypeInfo<>(ChunkReceipt.class, INSTANCE);

    @Override
    public boolean isImmutableType() {
        return true;
    }

    @Override
    public ChunkReceipt createInstance() {
        return null;
    }

    @Override
    public ChunkReceipt copy(ChunkReceipt from) {
        return from;
    }

    @Override
    public ChunkReceipt copy(ChunkReceipt from, ChunkReceipt reuse) {
        return from;
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(ChunkReceipt r, DataOutputView out) throws IOException {
        out.writeUTF(r.modelId());
        out.writeUTF(r.publishId());
        out.writeLong(r.step());
        out.writeLong(r.versionBytes());
        out.writeInt(r.bucketCount());
        out.writeInt(r.bucketIndex());
        out.writeLong(r.bucketOffset());
        out.writeLong(r.bucketSize());
        out.writeInt(r.chunkCount());
        out.writeInt(r.chunkIndex());
        out.writeLong(r.chunkOffset());
        out.writeInt(r.payloadLength());
        out.writeInt(r.crc32c());
        out.writeInt(r.partition());
        out.writeLong(r.offset());
        out.writeLong(r.timestamp());
        out.writeInt(r.recordBytes());
        out.writeBoolean(r.problem() != null);
        if (r.problem() != null) {
            out.writeUTF(r.problem());
        }
        out.writeBoolean(r.crcMismatch());
    }

    @Override
    public ChunkReceipt deserialize(DataInputView in) throws IOException {
        return new ChunkReceipt(in.readUTF(), in.readUTF(), in.readLong(), in.readLong(), in.readInt(), in.readInt(),
                in.readLong(), in.readLong(), in.readInt(), in.readInt(), in.readLong(), in.readInt(), in.readInt(),
                in.readInt(), in.readLong(), in.readLong(), in.readInt(), in.readBoolean() ? in.readUTF() : null,
                in.readBoolean());
    }

    @Override
    public ChunkReceipt deserialize(ChunkReceipt reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<ChunkReceipt> snapshotConfiguration() {
        return new ChunkReceiptSerializerSnapshot();
    }

    /** Snapshot for state compatibility; the format has one version so far. */
    public static final class ChunkReceiptSerializerSnapshot extends SimpleTypeSerializerSnapshot<ChunkReceipt> {
        public ChunkReceiptSerializerSnapshot() {
            super(() -> INSTANCE);
        }
    }
}
