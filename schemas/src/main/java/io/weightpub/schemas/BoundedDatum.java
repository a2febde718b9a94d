package io.weightpub.schemas;

import org.apache.avro.Schema;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Walks an Avro binary datum along its writer schema before Avro decodes it, and checks every
 * length and count the datum claims against the bytes it has: a string or bytes field cannot be
 * longer than the rest of the record, an array or map block cannot hold more items than the rest
 * of the record could encode. Avro trusts these numbers and allocates for them (a 23-byte record
 * can claim two billion list items), so only a datum that passes this walk reaches Avro.
 */
final class BoundedDatum {

    /** Items of a schema that encodes in zero bytes (only nulls) that one array may claim. */
    static final int MAX_EMPTY_ITEMS = 1 << 16;

    private final byte[] bytes;
    private final int end;
    private final Map<Schema, Integer> minSizes = new IdentityHashMap<>();
    private int position;

    private BoundedDatum(byte[] bytes, int offset, int length) {
        this.bytes = bytes;
        this.position = offset;
        this.end = offset + length;
    }

    /** Throws unless the datum at {@code [offset, offset + length)} is one complete datum of {@code schema}. */
    static void check(Schema schema, byte[] bytes, int offset, int length) throws WireFormatException {
        BoundedDatum walk = new BoundedDatum(bytes, offset, length);
        walk.walk(schema, schema.getName());
        if (walk.position != walk.end) {
            throw new WireFormatException(WireFormatException.Kind.TRAILING_BYTES,
                    schema.getName() + " datum followed by " + (walk.end - walk.position) + " unread bytes");
        }
    }

    private void walk(Schema schema, String path) throws WireFormatException {
        switch (schema.getType()) {
            case NULL:
                return;
            case BOOLEAN:
                skip(1, path);
                return;
            case INT:
                readInt(path);
                return;
            case LONG:
                readLong(path);
                return;
            case FLOAT:
                skip(4, path);
                return;
            case DOUBLE:
                skip(8, path);
                return;
            case STRING:
            case BYTES:
                skip(length(path), path);
                return;
            case FIXED:
                skip(schema.getFixedSize(), path);
                return;
            case ENUM:
                index(schema.getEnumSymbols().size(), path);
                return;
            case UNION:
                walk(schema.getTypes().get(index(schema.getTypes().size(), path)), path);
                return;
            case RECORD:
                for (Schema.Field field : schema.getFields()) {
                    walk(field.schema(), path + "." + field.name());
                }
                return;
            case ARRAY:
                items(schema.getElementType(), null, path);
                return;
            case MAP:
                items(schema.getValueType(), Schema.create(Schema.Type.STRING), path);
                return;
            default:
                throw new WireFormatException(WireFormatException.Kind.MALFORMED,
                        "schema type " + schema.getType() + " at " + path + " is not supported");
        }
    }

    /** Array or map blocks: a count (negative: its absolute value, then the block's byte size), 0 ends. */
    private void items(Schema item, Schema key, String path) throws WireFormatException {
        long itemBytes = minSize(item) + (key == null ? 0 : minSize(key));
        long total = 0;
        while (true) {
            long count = readLong(path);
            if (count == 0) {
                return;
            }
            if (count < 0) {
                count = count == Long.MIN_VALUE ? Long.MAX_VALUE : -count;
                readLong(path); // the block's byte size; the walk checks the items themselves
            }
            long left = end - position;
            long most = itemBytes == 0 ? MAX_EMPTY_ITEMS - total : left / itemBytes;
            if (count > most) {
                throw new WireFormatException(WireFormatException.Kind.MALFORMED, String.format(
                        "%s claims %d items; its %d bytes left hold at most %d", path, count, left, most));
            }
            total += count;
            for (long i = 0; i < count; i++) {
                if (key != null) {
                    walk(key, path);
                }
                walk(item, path + "[" + i + "]");
            }
        }
    }

    /** The fewest bytes a datum of {@code schema} can encode in. */
    private int minSize(Schema schema) {
        Integer known = minSizes.get(schema);
        if (known != null) {
            return known;
        }
        minSizes.put(schema, 0); // a recursive schema counts its own reference as empty
        int size;
        switch (schema.getType()) {
            case NULL:
                size = 0;
                break;
            case FLOAT:
                size = 4;
                break;
            case DOUBLE:
                size = 8;
                break;
            case FIXED:
                size = schema.getFixedSize();
                break;
            case UNION:
                int smallest = Integer.MAX_VALUE;
                for (Schema branch : schema.getTypes()) {
                    smallest = Math.min(smallest, minSize(branch));
                }
                size = 1 + smallest;
                break;
            case RECORD:
                long sum = 0;
                for (Schema.Field field : schema.getFields()) {
                    sum += minSize(field.schema());
                }
                size = (int) Math.min(Integer.MAX_VALUE, sum);
                break;
            default:
                // boolean, int, long, string, bytes, enum, array and map take at least one byte
                size = 1;
        }
        minSizes.put(schema, size);
        return size;
    }

    private int index(int choices, String path) throws WireFormatException {
        long index = readLong(path);
        if (index < 0 || index >= choices) {
            throw new WireFormatException(WireFormatException.Kind.MALFORMED,
                    path + " has index " + index + " of " + choices + " choices");
        }
        return (int) index;
    }

    private int length(String path) throws WireFormatException {
        long length = readLong(path);
        if (length < 0) {
            throw new WireFormatException(WireFormatException.Kind.MALFORMED, path + " has length " + length);
        }
        if (length > end - position) {
            throw new WireFormatException(WireFormatException.Kind.TRUNCATED, String.format(
                    "%s claims %d bytes; the record has %d bytes left", path, length, end - position));
        }
        return (int) length;
    }

    private void skip(int count, String path) throws WireFormatException {
        if (count > end - position) {
            throw new WireFormatException(WireFormatException.Kind.TRUNCATED,
                    path + " needs " + count + " bytes; the record has " + (end - position) + " left");
        }
        position += count;
    }

    private int readInt(String path) throws WireFormatException {
        long value = readLong(path);
        if (value != (int) value) {
            throw new WireFormatException(WireFormatException.Kind.MALFORMED, path + " int field holds " + value);
        }
        return (int) value;
    }

    private long readLong(String path) throws WireFormatException {
        long raw = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (position >= end) {
                throw new WireFormatException(WireFormatException.Kind.TRUNCATED, path + " ends inside a varint");
            }
            int b = bytes[position++] & 0xFF;
            if (shift == 63 && b > 1) {
                throw new WireFormatException(WireFormatException.Kind.MALFORMED,
                        path + " varint overflows a long");
            }
            raw |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return (raw >>> 1) ^ -(raw & 1);
            }
        }
        throw new WireFormatException(WireFormatException.Kind.MALFORMED, path + " varint longer than 10 bytes");
    }
}
