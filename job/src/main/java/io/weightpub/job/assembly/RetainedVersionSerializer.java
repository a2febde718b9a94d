package io.weightpub.job.assembly;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;

/** State format of {@link RetainedVersion}. */
final class RetainedVersionSerializer implements SimpleVersionedSerializer<RetainedVersion> {

    static final RetainedVersionSerializer INSTANCE = new RetainedVersionSerializer();
    private static final int VERSION = 1;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(RetainedVersion retained) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(8 + retained.indexEntry.length + retained.manifest.length);
        out.writeInt(retained.indexEntry.length);
        out.write(retained.indexEntry);
        out.writeInt(retained.manifest.length);
        out.write(retained.manifest);
        return out.getCopyOfBuffer();
    }

    @Override
    public RetainedVersion deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION) {
            throw new IOException("retained version state of version " + version + ", this job reads " + VERSION);
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        byte[] indexEntry = new byte[in.readInt()];
        in.readFully(indexEntry);
        byte[] manifest = new byte[in.readInt()];
        in.readFully(manifest);
        return new RetainedVersion(indexEntry, manifest);
    }
}
