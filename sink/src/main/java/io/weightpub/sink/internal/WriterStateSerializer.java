package io.weightpub.sink.internal;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Version 1 of the writer state: counts followed by fields in declaration order. */
public final class WriterStateSerializer implements SimpleVersionedSerializer<WriterState> {

    public static final WriterStateSerializer INSTANCE = new WriterStateSerializer();
    private static final int VERSION = 1;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(WriterState state) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        out.writeInt(state.worker());
        out.writeInt(state.models().size());
        for (WriterState.ModelState model : state.models()) {
            out.writeUTF(model.modelId());
            WriterState.CommittedVersion last = model.lastCommitted();
            out.writeBoolean(last != null);
            if (last != null) {
                out.writeUTF(last.publishId());
                out.writeLong(last.version());
                out.writeLong(last.contentVersion());
                out.writeLong(last.step());
            }
            out.writeInt(model.inFlight().size());
            for (WriterState.PublishState publish : model.inFlight()) {
                out.writeUTF(publish.publishId());
                out.writeLong(publish.step());
                out.writeLong(publish.versionBytes());
                out.writeLong(publish.verifiedVersion());
                out.writeLong(publish.contentVersion());
                out.writeLong(publish.stagedAtMillis());
                out.writeInt(publish.stagedBytes().size());
                for (WriterState.ByteRange range : publish.stagedBytes()) {
                    out.writeLong(range.start());
                    out.writeLong(range.end());
                }
                out.writeInt(publish.chunkOffsets().size());
                for (WriterState.SourceRange range : publish.chunkOffsets()) {
                    out.writeInt(range.partition());
                    out.writeLong(range.firstOffset());
                    out.writeLong(range.lastOffset());
                }
            }
        }
        return out.getCopyOfBuffer();
    }

    @Override
    public WriterState deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION) {
            throw new IOException("sink writer state version " + version + " is unknown (knows " + VERSION + ")");
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        int worker = in.readInt();
        int modelCount = in.readInt();
        List<WriterState.ModelState> models = new ArrayList<>(modelCount);
        for (int m = 0; m < modelCount; m++) {
            String modelId = in.readUTF();
            WriterState.CommittedVersion last = in.readBoolean()
                    ? new WriterState.CommittedVersion(in.readUTF(), in.readLong(), in.readLong(), in.readLong())
                    : null;
            int publishCount = in.readInt();
            List<WriterState.PublishState> publishes = new ArrayList<>(publishCount);
            for (int p = 0; p < publishCount; p++) {
                String publishId = in.readUTF();
                long step = in.readLong();
                long versionBytes = in.readLong();
                long verifiedVersion = in.readLong();
                long contentVersion = in.readLong();
                long stagedAt = in.readLong();
                int byteRanges = in.readInt();
                List<WriterState.ByteRange> staged = new ArrayList<>(byteRanges);
                for (int r = 0; r < byteRanges; r++) {
                    staged.add(new WriterState.ByteRange(in.readLong(), in.readLong()));
                }
                int sourceRanges = in.readInt();
                List<WriterState.SourceRange> sources = new ArrayList<>(sourceRanges);
                for (int r = 0; r < sourceRanges; r++) {
                    sources.add(new WriterState.SourceRange(in.readInt(), in.readLong(), in.readLong()));
                }
                publishes.add(new WriterState.PublishState(publishId, step, versionBytes, verifiedVersion,
                        contentVersion, stagedAt, staged, sources));
            }
            models.add(new WriterState.ModelState(modelId, last, publishes));
        }
        return new WriterState(worker, models);
    }
}
