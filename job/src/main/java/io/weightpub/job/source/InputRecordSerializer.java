package io.weightpub.job.source;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/** Flink's wire format for {@link InputRecord}: coordinates, then the raw value. */
@Internal
public final class InputRecordSerializer extends TypeSerializerSingleton<InputRecord> {

    private static final long serialVersionUID = 1L;
    public static final InputRecordSerializer INSTANCE = new InputRecordSerializer();
    private static final InputRecord.Kind[] KINDS = InputRecord.Kind.values();

    @Override
    public boolean isImmutableType() {
        return true;
    }

    @Override
    public InputRecord createInstance() {
        return null;
    }

    @Override
    public InputRecord copy(InputRecord from) {
        return from;
    }

    @Override
    public InputRecord copy(InputRecord from, InputRecord reuse) {
        return from;
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(InputRecord record, DataOutputView out) throws IOException {
        out.writeByte(record.kind().ordinal());
        out.writeUTF(record.topic());
        out.writeInt(record.partition());
        out.writeLong(record.offset());
        out.writeLong(record.timestamp());
        out.writeUTF(record.modelKey());
        byte[] value = record.value();
        out.writeInt(value == null ? -1 : value.length);
        if (value != null) {
            out.write(value);
        }
    }

    @Override
    public InputRecord deserialize(DataInputView in) throws IOException {
        InputRecord.Kind kind = KINDS[in.readByte()];
        String topic = in.readUTF();
        int partition = in.readInt();
        long offset = in.readLong();
        long timestamp = in.readLong();
        String modelKey = in.readUTF();
        int length = in.readInt();
        byte[] value = null;
        if (length >= 0) {
            value = new byte[length];
            in.readFully(value);
        }
        return new InputRecord(kind, topic, partition, offset, timestamp, modelKey, value);
    }

    @Override
    public InputRecord deserialize(InputRecord reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<InputRecord> snapshotConfiguration() {
        return new InputRecordSerializerSnapshot();
    }

    /** Snapshot for state compatibility; the format has one version so far. */
    public static final class InputRecordSerializerSnapshot extends SimpleTypeSerializerSnapshot<InputRecord> {
        public InputRecordSerializerSnapshot() {
            super(() -> INSTANCE);
        }
    }
}
