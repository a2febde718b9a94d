package io.weightpub.schemas.signing.internal;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.IndexedRecord;
import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;

/**
 * The bytes a signature covers: a deterministic, length-prefixed encoding of a record, independent
 * of Avro's own encoding (so re-encoding, schema evolution or another language cannot change it).
 * docs/security.md specifies it for independent implementations:
 *
 * <pre>
 * canonical(record) = str("weightpub-signed-v1") ++ str(record's full schema name) ++ rec(record without "signature")
 * rec(r)    = u32(number of fields whose value is not null) ++ for each such field, in schema order: str(name) ++ val(value)
 * val(v)    = boolean: one byte 0 or 1 | int: 4 bytes | long: 8 bytes (big-endian two's complement)
 *           | string, enum symbol: str | bytes, fixed: u32(length) ++ the bytes
 *           | array: u32(count) ++ val(item)... | record: rec | union ["null", T]: val as T
 * str(s)    = u32(length of UTF-8 bytes) ++ UTF-8 bytes;  u32 = 4 bytes big-endian
 * </pre>
 *
 * A null field is left out entirely, so adding an optional field with default null later keeps
 * every existing signature valid.
 */
@Internal
public final class CanonicalEncoding {

    public static final String DOMAIN = "weightpub-signed-v1";
    public static final String SIGNATURE_FIELD = "signature";

    private byte[] buffer = new byte[16 * 1024];
    private int size;

    private CanonicalEncoding() {}

    /** The canonical bytes of {@code record}, every field but its top-level {@code signature}. */
    public static byte[] of(IndexedRecord record) {
        CanonicalEncoding encoding = new CanonicalEncoding();
        encoding.string(DOMAIN);
        encoding.string(record.getSchema().getFullName());
        encoding.record(record, SIGNATURE_FIELD);
        return Arrays.copyOf(encoding.buffer, encoding.size);
    }

    private void record(IndexedRecord record, String excluded) {
        int present = 0;
        for (Schema.Field field : record.getSchema().getFields()) {
            if (!field.name().equals(excluded) && record.get(field.pos()) != null) {
                present++;
            }
        }
        u32(present);
        for (Schema.Field field : record.getSchema().getFields()) {
            Object value = record.get(field.pos());
            if (!field.name().equals(excluded) && value != null) {
                string(field.name());
                value(field.schema(), value, field.name());
            }
        }
    }

    private void value(Schema schema, Object value, String where) {
        switch (schema.getType()) {
            case BOOLEAN -> write((Boolean) value ? 1 : 0);
            case INT -> u32((Integer) value);
            case LONG -> u64((Long) value);
            case STRING -> string(value.toString());
            case ENUM -> string(value instanceof Enum<?> e ? e.name() : ((GenericEnumSymbol<?>) value).toString());
            case BYTES -> bytes((ByteBuffer) value);
            case FIXED -> bytes(ByteBuffer.wrap(((GenericFixed) value).bytes()));
            case ARRAY -> {
                Collection<?> items = (Collection<?>) value;
                u32(items.size());
                for (Object item : items) {
                    if (item == null) {
                        throw new IllegalArgumentException(where + ": a null array item has no canonical form");
                    }
                    value(schema.getElementType(), item, where);
                }
            }
            case RECORD -> record((IndexedRecord) value, null);
            case UNION -> value(nonNullBranch(schema, where), value, where);
            default -> throw new IllegalArgumentException(
                    where + ": type " + schema.getType() + " has no canonical form");
        }
    }

    private static Schema nonNullBranch(Schema union, String where) {
        if (union.getTypes().size() != 2 || union.getTypes().get(0).getType() != Schema.Type.NULL) {
            throw new IllegalArgumentException(where + ": only [\"null\", T] unions have a canonical form");
        }
        return union.getTypes().get(1);
    }

    private void string(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        u32(utf8.length);
        write(utf8, utf8.length);
    }

    private void bytes(ByteBuffer buffer) {
        ByteBuffer view = buffer.duplicate();
        int length = view.remaining();
        u32(length);
        ensure(length);
        view.get(this.buffer, size, length);
        size += length;
    }

    private void u32(int v) {
        ensure(4);
        buffer[size++] = (byte) (v >>> 24);
        buffer[size++] = (byte) (v >>> 16);
        buffer[size++] = (byte) (v >>> 8);
        buffer[size++] = (byte) v;
    }

    private void write(int b) {
        ensure(1);
        buffer[size++] = (byte) b;
    }

    private void write(byte[] bytes, int length) {
        ensure(length);
        System.arraycopy(bytes, 0, buffer, size, length);
        size += length;
    }

    private void ensure(int more) {
        if (buffer.length - size < more) {
            buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, size + more));
        }
    }

    private void u64(long v) {
        u32((int) (v >>> 32));
        u32((int) v);
    }
}
