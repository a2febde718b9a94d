package io.weightpub.job.internal;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.util.Map;
import java.util.Objects;

/**
 * Keeps a value in Flink state in the format of its {@link SimpleVersionedSerializer}: the format
 * version is written with every value, so a newer job reads state written by an older one. Values
 * are mutable, so {@link #copy} is a deep copy through that format.
 */
@Internal
public final class VersionedStateSerializer<T> extends TypeSerializer<T> {

    private static final long serialVersionUID = 1L;

    /**
     * Format classes renamed since they wrote state: old name -> new name. Savepoints name the class,
     * so a rename without an entry here would make them unrestorable.
     */
    static final Map<String, String> RENAMED_FORMATS = Map.of(
            "io.weightpub.job.assembly.PublishProgressSerializer", "io.weightpub.job.assembly.PublishAssemblySerializer");

    private final Class<? extends SimpleVersionedSerializer<T>> formatClass;
    private transient SimpleVersionedSerializer<T> format;

    public VersionedStateSerializer(Class<? extends SimpleVersionedSerializer<T>> formatClass) {
        this.formatClass = Objects.requireNonNull(formatClass, "formatClass");
    }

    private SimpleVersionedSerializer<T> format() {
        if (format == null) {
            format = instantiate(formatClass);
        }
        return format;
    }

    static <T> SimpleVersionedSerializer<T> instantiate(Class<? extends SimpleVersionedSerializer<T>> formatClass) {
        try {
            Constructor<? extends SimpleVersionedSerializer<T>> constructor = formatClass.getDeclaredConstructor();
            constructor.setAccessible(true);
            return constructor.newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("state format " + formatClass.getName()
                    + " needs a constructor without arguments", e);
        }
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<T> duplicate() {
        return new VersionedStateSerializer<>(formatClass);
    }

    @Override
    public T createInstance() {
        return null;
    }

    @Override
    public T copy(T from) {
        try {
            return format().deserialize(format().getVersion(), format().serialize(from));
        } catch (IOException e) {
            throw new IllegalStateException("could not copy a state value through " + formatClass.getName(), e);
        }
    }

    @Override
    public T copy(T from, T reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(T record, DataOutputView target) throws IOException {
        byte[] bytes = format().serialize(record);
        target.writeInt(format().getVersion());
        target.writeInt(bytes.length);
        target.write(bytes);
    }

    @Override
    public T deserialize(DataInputView source) throws IOException {
        int version = source.readInt();
        byte[] bytes = new byte[source.readInt()];
        source.readFully(bytes);
        return format().deserialize(version, bytes);
    }

    @Override
    public T deserialize(T reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        target.writeInt(source.readInt());
        byte[] bytes = new byte[source.readInt()];
        source.readFully(bytes);
        target.writeInt(bytes.length);
        target.write(bytes);
    }

    @Override
    public boolean equals(Object obj) {
        return obj instanceof VersionedStateSerializer
                && ((VersionedStateSerializer<?>) obj).formatClass.equals(formatClass);
    }

    @Override
    public int hashCode() {
        return formatClass.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<T> snapshotConfiguration() {
        return new Snapshot<>(formatClass);
    }

    /** Remembers which format class wrote the state; every version of it reads every older one. */
    public static final class Snapshot<T> implements TypeSerializerSnapshot<T> {

        private Class<? extends SimpleVersionedSerializer<T>> formatClass;

        public Snapshot() {}

        Snapshot(Class<? extends SimpleVersionedSerializer<T>> formatClass) {
            this.formatClass = formatClass;
        }

        @Override
        public int getCurrentVersion() {
            return 1;
        }

        @Override
        public void writeSnapshot(DataOutputView out) throws IOException {
            out.writeUTF(formatClass.getName());
        }

        @Override
        @SuppressWarnings("unchecked")
        public void readSnapshot(int readVersion, DataInputView in, ClassLoader userCodeClassLoader)
                throws IOException {
            String written = in.readUTF();
            String name = RENAMED_FORMATS.getOrDefault(written, written);
            try {
                formatClass = (Class<? extends SimpleVersionedSerializer<T>>)
                        Class.forName(name, false, userCodeClassLoader);
            } catch (ClassNotFoundException e) {
                throw new IOException("state was written by format " + name + ", which this job lacks", e);
            }
        }

        @Override
        public TypeSerializer<T> restoreSerializer() {
            return new VersionedStateSerializer<>(formatClass);
        }

        @Override
        public TypeSerializerSchemaCompatibility<T> resolveSchemaCompatibility(
                TypeSerializerSnapshot<T> oldSerializerSnapshot) {
            return oldSerializerSnapshot instanceof Snapshot
                            && ((Snapshot<T>) oldSerializerSnapshot).formatClass.getName().equals(formatClass.getName())
                    ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                    : TypeSerializerSchemaCompatibility.incompatible();
        }
    }
}
