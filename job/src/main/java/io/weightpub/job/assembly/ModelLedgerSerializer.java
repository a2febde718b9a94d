package io.weightpub.job.assembly;

import io.weightpub.schemas.VersionState;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** State format of {@link ModelLedger}. */
final class ModelLedgerSerializer implements SimpleVersionedSerializer<ModelLedger> {

    static final ModelLedgerSerializer INSTANCE = new ModelLedgerSerializer();
    private static final int VERSION = 1;
    private static final VersionState[] STATES = VersionState.values();

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(ModelLedger ledger) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64 + ledger.outcomes.size() * 64);
        out.writeLong(ledger.lastVersion);
        out.writeLong(ledger.lastStep);
        out.writeInt(ledger.outcomes.size());
        for (Map.Entry<String, ModelLedger.Outcome> entry : ledger.outcomes.entrySet()) {
            out.writeUTF(entry.getKey());
            out.writeByte(entry.getValue().state.ordinal());
            out.writeLong(entry.getValue().version);
            out.writeUTF(entry.getValue().reason);
        }
        return out.getCopyOfBuffer();
    }

    @Override
    public ModelLedger deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION) {
            throw new IOException("model ledger state of version " + version + ", this job reads " + VERSION);
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        long lastVersion = in.readLong();
        long lastStep = in.readLong();
        int count = in.readInt();
        LinkedHashMap<String, ModelLedger.Outcome> outcomes = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            String publishId = in.readUTF();
            VersionState state = STATES[in.readByte()];
            outcomes.put(publishId, new ModelLedger.Outcome(state, in.readLong(), in.readUTF()));
        }
        return new ModelLedger(lastVersion, lastStep, outcomes);
    }
}
