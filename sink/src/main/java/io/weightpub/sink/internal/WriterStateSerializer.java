package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.events.WeightEventSerializer;
import org.apache.flink.annotation.Internal;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The writer state: counts followed by fields in declaration order. Version 2 adds the committed
 * version's location and manifest and a verified publish's manifest (byte arrays, length -1 for
 * none); version 3 adds a publish's deferred flag and each model's held commit events (in {@link
 * WeightEventSerializer}'s format). Versions 1 and 2 are still read.
 */
@Internal
public final class WriterStateSerializer implements SimpleVersionedSerializer<WriterState> {

    public static final WriterStateSerializer INSTANCE = new WriterStateSerializer();
    private static final int VERSION = 3;

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
                writeBytes(out, last.location());
                writeBytes(out, last.manifest());
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
                writeBytes(out, publish.manifest());
                out.writeBoolean(publish.deferred());
            }
            out.writeInt(model.heldCommits().size());
            for (WeightEvent event : model.heldCommits()) {
                WeightEventSerializer.INSTANCE.serialize(event, out);
            }
        }
        return out.getCopyOfBuffer();
    }

    @Override
    public WriterState deserialize(int version, byte[] serialized) throws IOException {
        if (version < 1 || version > VERSION) {
            throw new IOException("sink writer state version " + version + " is unknown (knows " + VERSION + ")");
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        int worker = in.readInt();
        int modelCount = in.readInt();
        List<WriterState.ModelState> models = new ArrayList<>(modelCount);
        for (int m = 0; m < modelCount; m++) {
            String modelId = in.readUTF();
            WriterState.CommittedVersion last = null;
            if (in.readBoolean()) {
                String publishId = in.readUTF();
                long committed = in.readLong();
                long contentVersion = in.readLong();
                long step = in.readLong();
                byte[] location = version >= 2 ? readBytes(in) : null;
                byte[] manifest = version >= 2 ? readBytes(in) : null;
                last = new WriterState.CommittedVersion(publishId, committed, contentVersion, step, location,
                        manifest);
            }
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
                byte[] manifest = version >= 2 ? readBytes(in) : null;
                boolean deferred = version >= 3 && in.readBoolean();
                publishes.add(new WriterState.PublishState(publishId, step, versionBytes, verifiedVersion,
                        contentVersion, stagedAt, staged, sources, manifest, deferred));
            }
            List<WeightEvent> held = new ArrayList<>();
            int heldCount = version >= 3 ? in.readInt() : 0;
            for (int h = 0; h < heldCount; h++) {
                held.add(WeightEventSerializer.INSTANCE.deserialize(in));
            }
            models.add(new WriterState.ModelState(modelId, last, publishes, held));
        }
        return new WriterState(worker, models);
    }

    private static void writeBytes(DataOutputSerializer out, byte[] bytes) throws IOException {
        if (bytes == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(bytes.length);
            out.write(bytes);
        }
    }

    private static byte[] readBytes(DataInputDeserializer in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            return null;
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        return bytes;
    }
}
