package io.weightpub.schemas;

import org.apache.flink.annotation.PublicEvolving;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A decoded chunks-topic record whose payload stays where it is in the record's value: {@link
 * #payload()} is that array, from {@link #payloadOffset()} for {@link #payloadLength()} bytes.
 * Records written with the current {@link WeightChunk} schema are parsed in place, so a reader
 * copies each payload once, to where it finally goes; records of other known writer schemas are
 * decoded through {@link WireCodec#CHUNK}.
 */
@PublicEvolving
public final class ChunkView {

    private final String modelId;
    private final long step;
    private final String publishId;
    private final int bucketIndex;
    private final int bucketCount;
    private final int chunkIndex;
    private final int chunkCount;
    private final long bucketOffset;
    private final long bucketSize;
    private final long chunkOffset;
    private final long versionBytes;
    private final int crc32c;
    private final byte[] payload;
    private final int payloadOffset;
    private final int payloadLength;

    private ChunkView(String modelId, long step, String publishId, int bucketIndex, int bucketCount, int chunkIndex,
            int chunkCount, long bucketOffset, long bucketSize, long chunkOffset, long versionBytes, int crc32c,
            byte[] payload, int payloadOffset, int payloadLength) {
        this.modelId = modelId;
        this.step = step;
        this.publishId = publishId;
        this.bucketIndex = bucketIndex;
        this.bucketCount = bucketCount;
        this.chunkIndex = chunkIndex;
        this.chunkCount = chunkCount;
        this.bucketOffset = bucketOffset;
        this.bucketSize = bucketSize;
        this.chunkOffset = chunkOffset;
        this.versionBytes = versionBytes;
        this.crc32c = crc32c;
        this.payload = payload;
        this.payloadOffset = payloadOffset;
        this.payloadLength = payloadLength;
    }

    /** Decodes a chunk record; the same errors as {@link WireCodec#decode(byte[])}. */
    public static ChunkView parse(byte[] value) throws WireFormatException {
        if (!WireCodec.CHUNK.hasCurrentHeader(value)) {
            return of(WireCodec.CHUNK.decode(value));
        }
        try {
            AvroBinary in = new AvroBinary(value, WireCodec.HEADER_BYTES);
            String modelId = in.readString();
            long step = in.readLong();
            String publishId = in.readString();
            int bucketIndex = in.readInt();
            int bucketCount = in.readInt();
            int chunkIndex = in.readInt();
            int chunkCount = in.readInt();
            long bucketOffset = in.readLong();
            long bucketSize = in.readLong();
            long chunkOffset = in.readLong();
            long versionBytes = in.readLong();
            int crc32c = in.readInt();
            int length = in.readInt();
            // Compared as "length > bytes left": position + length can overflow an int.
            if (length < 0 || length > value.length - in.position) {
                throw new WireFormatException(WireFormatException.Kind.TRUNCATED, "WeightChunk payload of " + length
                        + " bytes at byte " + in.position + " runs past the " + value.length + "-byte record");
            }
            if (length < value.length - in.position) {
                throw new WireFormatException(WireFormatException.Kind.TRAILING_BYTES,
                        "WeightChunk datum followed by " + (value.length - in.position - length) + " unread bytes");
            }
            return new ChunkView(modelId, step, publishId, bucketIndex, bucketCount, chunkIndex, chunkCount,
                    bucketOffset, bucketSize, chunkOffset, versionBytes, crc32c, value, in.position, length);
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new WireFormatException(WireFormatException.Kind.TRUNCATED,
                    "WeightChunk datum ends early (" + value.length + " bytes)", e);
        }
    }

    /** A view of a decoded chunk (its payload array is used as is where it has one). */
    public static ChunkView of(WeightChunk chunk) {
        ByteBuffer bytes = chunk.getPayload();
        byte[] payload;
        int offset;
        if (bytes.hasArray()) {
            payload = bytes.array();
            offset = bytes.arrayOffset() + bytes.position();
        } else {
            payload = new byte[bytes.remaining()];
            bytes.duplicate().get(payload);
            offset = 0;
        }
        return new ChunkView(chunk.getModelId(), chunk.getStep(), chunk.getPublishId(), chunk.getBucketIndex(),
                chunk.getBucketCount(), chunk.getChunkIndex(), chunk.getChunkCount(), chunk.getBucketOffset(),
                chunk.getBucketSize(), chunk.getChunkOffset(), chunk.getVersionBytes(), chunk.getCrc32c(), payload,
                offset, bytes.remaining());
    }

    public String modelId() {
        return modelId;
    }

    public long step() {
        return step;
    }

    public String publishId() {
        return publishId;
    }

    public int bucketIndex() {
        return bucketIndex;
    }

    public int bucketCount() {
        return bucketCount;
    }

    public int chunkIndex() {
        return chunkIndex;
    }

    public int chunkCount() {
        return chunkCount;
    }

    public long bucketOffset() {
        return bucketOffset;
    }

    public long bucketSize() {
        return bucketSize;
    }

    public long chunkOffset() {
        return chunkOffset;
    }

    public long versionBytes() {
        return versionBytes;
    }

    public int crc32c() {
        return crc32c;
    }

    /** Byte offset of the payload in the whole version. */
    public long versionOffset() {
        return bucketOffset + chunkOffset;
    }

    /** The array holding the payload (usually the record's value); never modify it. */
    public byte[] payload() {
        return payload;
    }

    public int payloadOffset() {
        return payloadOffset;
    }

    public int payloadLength() {
        return payloadLength;
    }

    /** Avro binary primitives read from an array: zig-zag varints and length-prefixed UTF-8 strings. */
    private static final class AvroBinary {
        private final byte[] bytes;
        int position;

        AvroBinary(byte[] bytes, int position) {
            this.bytes = bytes;
            this.position = position;
        }

        long readLong() throws WireFormatException {
            long raw = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                byte b = bytes[position++];
                if (shift == 63 && (b & 0xFF) > 1) {
                    throw new WireFormatException(WireFormatException.Kind.MALFORMED,
                            "varint overflows a long before byte " + position);
                }
                raw |= (long) (b & 0x7F) << shift;
                if ((b & 0x80) == 0) {
                    return (raw >>> 1) ^ -(raw & 1);
                }
            }
            throw new WireFormatException(WireFormatException.Kind.MALFORMED,
                    "varint longer than 10 bytes before byte " + position);
        }

        int readInt() throws WireFormatException {
            long value = readLong();
            if (value != (int) value) {
                throw new WireFormatException(WireFormatException.Kind.MALFORMED,
                        "int field of " + value + " before byte " + position);
            }
            return (int) value;
        }

        String readString() throws WireFormatException {
            int length = readInt();
            if (length < 0 || length > bytes.length - position) {
                throw new WireFormatException(WireFormatException.Kind.TRUNCATED, "string of " + length
                        + " bytes at byte " + position + " of a " + bytes.length + "-byte record");
            }
            String text = new String(bytes, position, length, StandardCharsets.UTF_8);
            position += length;
            return text;
        }
    }
}
