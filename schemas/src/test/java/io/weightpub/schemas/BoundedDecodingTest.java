package io.weightpub.schemas;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Lengths and counts a record claims are checked against the bytes it has before anything is allocated. */
class BoundedDecodingTest {

    /** The single-object header of the current manifest schema, then the manifest's fields up to its buckets. */
    private static ByteArrayOutputStream manifestUpToBuckets() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] header = WireCodec.MANIFEST.encode(WireCodecTest.manifest());
        out.write(header, 0, WireCodec.HEADER_BYTES);
        writeString(out, "m");
        writeLong(out, 1); // step
        writeString(out, "p");
        writeLong(out, 1); // schema_version
        writeLong(out, 8); // total_bytes
        writeLong(out, 8); // chunk_size
        return out;
    }

    @Test
    void manifestWhoseBucketArrayClaimsMaxIntItemsIsAMalformedRecordNotACrash() {
        ByteArrayOutputStream out = manifestUpToBuckets();
        writeLong(out, Integer.MAX_VALUE);
        byte[] bytes = out.toByteArray();

        assertThatThrownBy(() -> WireCodec.MANIFEST.decode(bytes))
                .isInstanceOf(WireFormatException.class)
                .hasMessageContaining("2147483647")
                .hasMessageContaining("buckets");
    }

    @Test
    void tinyManifestDeclaringTwoBillionBucketsIsRejectedBeforeAvroAllocatesTheList() {
        ByteArrayOutputStream out = manifestUpToBuckets();
        writeLong(out, Integer.MAX_VALUE - 8);
        byte[] bytes = out.toByteArray();
        assertThat(bytes.length).isLessThan(32);

        assertThatThrownBy(() -> WireCodec.MANIFEST.decode(bytes))
                .isInstanceOf(WireFormatException.class)
                .satisfies(e -> assertThat(((WireFormatException) e).kind())
                        .isEqualTo(WireFormatException.Kind.MALFORMED))
                .hasMessageContaining("2147483639 items")
                .hasMessageContaining("bytes left");
    }

    @Test
    void negativeBlockCountWithAHugeItemCountIsRejected() {
        ByteArrayOutputStream out = manifestUpToBuckets();
        writeLong(out, -(1L << 40)); // a block of 2^40 items, with its byte size after it
        writeLong(out, 1);
        byte[] bytes = out.toByteArray();

        assertThatThrownBy(() -> WireCodec.MANIFEST.decode(bytes)).isInstanceOf(WireFormatException.class);
    }

    @Test
    void stringLongerThanTheRecordIsTruncatedNotAllocated() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] header = WireCodec.CONTROL.encode(ControlRecord.newBuilder().setModelId("m")
                .setAction(ControlAction.ABORT).setRequestId("r").setRequestedAtMs(0).build());
        out.write(header, 0, WireCodec.HEADER_BYTES);
        writeLong(out, Integer.MAX_VALUE - 16); // model_id length
        byte[] bytes = out.toByteArray();

        assertThatThrownBy(() -> WireCodec.CONTROL.decode(bytes))
                .isInstanceOf(WireFormatException.class)
                .satisfies(e -> assertThat(((WireFormatException) e).kind())
                        .isEqualTo(WireFormatException.Kind.TRUNCATED));
    }

    @Test
    void inPlaceChunkParserRejectsAStringLengthThatOverflowsThePosition() {
        byte[] valid = WireCodec.CHUNK.encode(WireCodecTest.chunk());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(valid, 0, WireCodec.HEADER_BYTES);
        writeLong(out, Integer.MAX_VALUE); // model_id length: position + length overflows an int
        out.write(new byte[16], 0, 16);
        byte[] bytes = out.toByteArray();

        assertThatThrownBy(() -> ChunkView.parse(bytes))
                .isInstanceOf(WireFormatException.class)
                .satisfies(e -> assertThat(((WireFormatException) e).kind())
                        .isEqualTo(WireFormatException.Kind.TRUNCATED));
    }

    @Test
    void inPlaceChunkParserRejectsAPayloadLengthThatOverflowsThePosition() {
        WeightChunk chunk = WireCodecTest.chunk();
        byte[] valid = WireCodec.CHUNK.encode(chunk);
        int payloadLengthAt = valid.length - chunk.getPayload().remaining() - 1;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(valid, 0, payloadLengthAt);
        writeLong(out, Integer.MAX_VALUE - 2);
        out.write(new byte[5], 0, 5);
        byte[] bytes = out.toByteArray();

        assertThatThrownBy(() -> ChunkView.parse(bytes))
                .isInstanceOf(WireFormatException.class)
                .satisfies(e -> assertThat(((WireFormatException) e).kind())
                        .isEqualTo(WireFormatException.Kind.TRUNCATED));
    }

    @Test
    void varintWhoseTenthByteOverflowsALongIsMalformed() {
        byte[] valid = WireCodec.CHUNK.encode(WireCodecTest.chunk());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(valid, 0, WireCodec.HEADER_BYTES);
        writeString(out, "llama");
        for (int i = 0; i < 9; i++) {
            out.write(0xFF);
        }
        out.write(0x7F); // a tenth byte with more than the one bit a long has left
        out.write(new byte[40], 0, 40);
        byte[] bytes = out.toByteArray();

        assertThatThrownBy(() -> ChunkView.parse(bytes))
                .isInstanceOf(WireFormatException.class)
                .satisfies(e -> assertThat(((WireFormatException) e).kind())
                        .isEqualTo(WireFormatException.Kind.MALFORMED));
    }

    @Test
    void validRecordsOfEveryTypeStillDecode() throws Exception {
        VersionManifest manifest = WireCodecTest.manifest();
        assertThat(WireCodec.MANIFEST.decode(WireCodec.MANIFEST.encode(manifest))).isEqualTo(manifest);
        VersionManifest empty = VersionManifest.newBuilder(manifest).setBuckets(List.of())
                .setSignature(ByteBuffer.wrap("sig".getBytes(StandardCharsets.UTF_8))).build();
        assertThat(WireCodec.MANIFEST.decode(WireCodec.MANIFEST.encode(empty))).isEqualTo(empty);
        WeightChunk chunk = WireCodecTest.chunk();
        assertThat(WireCodec.CHUNK.decode(WireCodec.CHUNK.encode(chunk))).isEqualTo(chunk);
    }

    static void writeLong(ByteArrayOutputStream out, long value) {
        long zigzag = (value << 1) ^ (value >> 63);
        while ((zigzag & ~0x7FL) != 0) {
            out.write((int) ((zigzag & 0x7F) | 0x80));
            zigzag >>>= 7;
        }
        out.write((int) zigzag);
    }

    static void writeString(ByteArrayOutputStream out, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        writeLong(out, bytes.length);
        out.write(bytes, 0, bytes.length);
    }
}
