package io.weightpub.sink.internal;

import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The fields of one chunks-topic record that a replay needs, with the payload left where it is in
 * the record's value (array, offset, length). Records written with the current {@link WeightChunk}
 * schema are parsed in place, so a replay copies each payload once, into the slot; records of other
 * writer schemas go through {@link WireCodec#CHUNK}.
 */
final class ChunkRecord {

    private static final int HEADER_BYTES = 10;

    String modelId;
    String publishId;
    int bucketIndex;
    int chunkIndex;
    long bucketOffset;
    long bucketSize;
    long chunkOffset;
    long versionBytes;
    int crc32c;
    byte[] payload;
    int payloadOffset;
    int payloadLength;

    /** Byte offset of the payload in the whole version. */
    long versionOffset() {
        return bucketOffset + chunkOffset;
    }

    /**
     * Parses {@code value} into this (reused) holder. Only records of {@code modelId}/{@code
     * publishId} are parsed fully; returns false for any other record.
     */
    boolean parse(byte[] value, byte[] modelUtf8, byte[] publishUtf8) throws WireFormatException {
        if (!WireCodec.CHUNK.hasCurrentHeader(value)) {
            return parseThroughCodec(value, modelUtf8, publishUtf8);
        }
        try {
            Reader in = new Reader(value, HEADER_BYTES);
            if (!in.stringEquals(modelUtf8)) {
                return false;
            }
            in.readLong(); // step
            if (!in.stringEquals(publishUtf8)) {
                return false;
            }
            bucketIndex = in.readInt();
            in.readInt(); // bucket count
            chunkIndex = in.readInt();
            in.readInt(); // chunk count
            bucketOffset = in.readLong();
            bucketSize = in.readLong();
            chunkOffset = in.readLong();
            versionBytes = in.readLong();
            crc32c = in.readInt();
            int length = Math.toIntExact(in.readLong());
            if (length < 0 || in.position + length != value.length) {
                throw new WireFormatException(WireFormatException.Kind.MALFORMED, "WeightChunk payload of "
                        + length + " bytes at byte " + in.position + " does not end the " + value.length
                        + "-byte record");
            }
            modelId = new String(modelUtf8, StandardCharsets.UTF_8);
            publishId = new String(publishUtf8, StandardCharsets.UTF_8);
            payload = value;
            payloadOffset = in.position;
            payloadLength = length;
            return true;
        } catch (ArrayIndexOutOfBoundsException | ArithmeticException e) {
            throw new WireFormatException(WireFormatException.Kind.TRUNCATED,
                    "WeightChunk datum ends early (" + value.length + " bytes)", e);
        }
    }

    private boolean parseThroughCodec(byte[] value, byte[] modelUtf8, byte[] publishUtf8)
            throws WireFormatException {
        WeightChunk chunk = WireCodec.CHUNK.decode(value);
        if (!Arrays.equals(chunk.getModelId().getBytes(StandardCharsets.UTF_8), modelUtf8)
                || !Arrays.equals(chunk.getPublishId().getBytes(StandardCharsets.UTF_8), publishUtf8)) {
            return false;
        }
        modelId = chunk.getModelId();
        publishId = chunk.getPublishId();
        bucketIndex = chunk.getBucketIndex();
        chunkIndex = chunk.getChunkIndex();
        bucketOffset = chunk.getBucketOffset();
        bucketSize = chunk.getBucketSize();
        chunkOffset = chunk.getChunkOffset();
        versionBytes = chunk.getVersionBytes();
        crc32c = chunk.getCrc32c();
        ByteBuffer bytes = chunk.getPayload();
        if (bytes.hasArray()) {
            payload = bytes.array();
            payloadOffset = bytes.arrayOffset() + bytes.position();
        } else {
            payload = new byte[bytes.remaining()];
            bytes.duplicate().get(payload);
            payloadOffset = 0;
        }
        payloadLength = bytes.remaining();
        return true;
    }

    /** Avro binary primitives over an array: zig-zag varints and length-prefixed strings. */
    private static final class Reader {
        private final byte[] bytes;
        int position;

        Reader(byte[] bytes, int position) {
            this.bytes = bytes;
            this.position = position;
        }

        long readLong() throws WireFormatException {
            long raw = 0;
            int shift = 0;
            while (true) {
                byte b = bytes[position++];
                raw |= (long) (b & 0x7F) << shift;
                if ((b & 0x80) == 0) {
                    return (raw >>> 1) ^ -(raw & 1);
                }
                shift += 7;
                if (shift > 63) {
                    throw new WireFormatException(WireFormatException.Kind.MALFORMED, "varint longer than 10 bytes");
                }
            }
        }

        int readInt() throws WireFormatException {
            return Math.toIntExact(readLong());
        }

        /** Reads a string and tells whether its UTF-8 bytes are {@code expected}. */
        boolean stringEquals(byte[] expected) throws WireFormatException {
            int length = Math.toIntExact(readLong());
            int start = position;
            position += length;
            if (length < 0 || position > bytes.length) {
                throw new WireFormatException(WireFormatException.Kind.TRUNCATED,
                        "string of " + length + " bytes at byte " + start + " of a " + bytes.length + "-byte record");
            }
            return Arrays.equals(bytes, start, position, expected, 0, expected.length);
        }
    }
}
