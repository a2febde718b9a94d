package io.weightpub.schemas;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChunkViewTest {

    @Test
    void parsesEveryFieldInPlaceWithThePayloadLeftInTheRecord() throws Exception {
        WeightChunk chunk = chunk(70_000, "org/model-Ω", -3);
        byte[] value = WireCodec.CHUNK.encode(chunk);

        ChunkView view = ChunkView.parse(value);

        assertThat(view.payload()).isSameAs(value);
        assertThat(Arrays.copyOfRange(view.payload(), view.payloadOffset(),
                view.payloadOffset() + view.payloadLength())).isEqualTo(chunk.getPayload().array());
        assertThat(view.modelId()).isEqualTo("org/model-Ω");
        assertThat(view.step()).isEqualTo(-3);
        assertThat(view.publishId()).isEqualTo(chunk.getPublishId());
        assertThat(view.bucketIndex()).isEqualTo(chunk.getBucketIndex());
        assertThat(view.bucketCount()).isEqualTo(chunk.getBucketCount());
        assertThat(view.chunkIndex()).isEqualTo(chunk.getChunkIndex());
        assertThat(view.chunkCount()).isEqualTo(chunk.getChunkCount());
        assertThat(view.bucketOffset()).isEqualTo(chunk.getBucketOffset());
        assertThat(view.bucketSize()).isEqualTo(chunk.getBucketSize());
        assertThat(view.chunkOffset()).isEqualTo(chunk.getChunkOffset());
        assertThat(view.versionBytes()).isEqualTo(chunk.getVersionBytes());
        assertThat(view.crc32c()).isEqualTo(chunk.getCrc32c());
        assertThat(view.versionOffset()).isEqualTo(chunk.getBucketOffset() + chunk.getChunkOffset());
    }

    @Test
    void emptyPayloadParses() throws Exception {
        ChunkView view = ChunkView.parse(WireCodec.CHUNK.encode(chunk(0, "m", 1)));
        assertThat(view.payloadLength()).isZero();
    }

    @Test
    void truncatedRecordIsATypedErrorAtEveryCut() {
        byte[] value = WireCodec.CHUNK.encode(chunk(300, "m", 7));
        for (int length = WireCodec.HEADER_BYTES; length < value.length; length++) {
            byte[] cut = Arrays.copyOf(value, length);
            assertThatThrownBy(() -> ChunkView.parse(cut)).as("cut at %d", length)
                    .isInstanceOf(WireFormatException.class);
        }
    }

    @Test
    void trailingBytesAreRejected() {
        byte[] value = WireCodec.CHUNK.encode(chunk(10, "m", 7));
        byte[] longer = Arrays.copyOf(value, value.length + 3);
        assertThatThrownBy(() -> ChunkView.parse(longer))
                .isInstanceOfSatisfying(WireFormatException.class,
                        e -> assertThat(e.kind()).isEqualTo(WireFormatException.Kind.TRAILING_BYTES));
    }

    @Test
    void recordWithoutTheCurrentHeaderGoesThroughTheCodecAndItsErrors() {
        byte[] value = WireCodec.CHUNK.encode(chunk(10, "m", 7));
        value[0] = 0x00;
        assertThatThrownBy(() -> ChunkView.parse(value))
                .isInstanceOfSatisfying(WireFormatException.class,
                        e -> assertThat(e.kind()).isEqualTo(WireFormatException.Kind.BAD_MARKER));
    }

    private static WeightChunk chunk(int payloadBytes, String model, long step) {
        byte[] payload = new byte[payloadBytes];
        new Random(payloadBytes).nextBytes(payload);
        return WeightChunk.newBuilder()
                .setModelId(model)
                .setStep(step)
                .setPublishId("c0ffee00-0000-4000-8000-000000000001")
                .setBucketIndex(3)
                .setBucketCount(9)
                .setChunkIndex(129)
                .setChunkCount(300)
                .setBucketOffset(5L << 32)
                .setBucketSize(1L << 33)
                .setChunkOffset(123_456_789_012L)
                .setVersionBytes(1L << 40)
                .setCrc32c(0xCAFEBABE)
                .setPayload(ByteBuffer.wrap(payload))
                .build();
    }
}
