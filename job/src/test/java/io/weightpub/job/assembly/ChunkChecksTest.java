package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.source.InputRecord;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;

import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The checker's work on one record, as plain function calls: no Flink. */
class ChunkChecksTest {

    private static final TopicNames TOPICS = TopicNames.of("check");
    private static final String MODEL = "org/model";
    private static final RandomPublish VERSION = RandomPublish.create(MODEL, 10, 1, 6, 3000, 8 * 1024, 1000);

    private final ChunkChecks checks = new ChunkChecks(new PublishChecks(PublishLimits.defaults()),
            new AssemblerRecords(TOPICS.status(), TOPICS.deadLetters(), 1 << 20));

    @Test
    void aGoodChunkIsStagedAsASliceOfItsRecordAndReceiptedWithItsCoordinates() {
        WeightChunk chunk = VERSION.chunks().get(3);
        InputRecord record = chunkRecord(MODEL, WireCodec.CHUNK.encode(chunk), 5, 77);

        ChunkChecks.Checked checked = checks.check(record, 0);

        WeightEvent stage = checked.stage();
        assertThat(stage.payload()).isSameAs(record.value());
        assertThat(stage.versionOffset()).isEqualTo(chunk.getBucketOffset() + chunk.getChunkOffset());
        assertThat(stage.sourcePartition()).isEqualTo(5);
        assertThat(stage.sourceOffset()).isEqualTo(77);
        ChunkReceipt receipt = checked.receipt();
        assertThat(receipt.problem()).isNull();
        assertThat(receipt.publishId()).isEqualTo(VERSION.publishId());
        assertThat(receipt.payloadLength()).isEqualTo(chunk.getPayload().remaining());
        assertThat(receipt.partition()).isEqualTo(5);
        assertThat(receipt.offset()).isEqualTo(77);
        assertThat(checked.deadLetter()).isNull();
        assertThat(checked.passThrough()).isNull();
    }

    @Test
    void aChunkWithABadCrcIsDeadLetteredWithItsBytesAndReceiptedAsACrcMismatchButNeverStaged() throws Exception {
        byte[] value = WireCodec.CHUNK.encode(VERSION.chunks().get(2));
        value[value.length - 3] ^= 0x10;

        ChunkChecks.Checked checked = checks.check(chunkRecord(MODEL, value, 1, 9), 0);

        assertThat(checked.stage()).isNull();
        assertThat(checked.receipt().crcMismatch()).isTrue();
        assertThat(checked.receipt().problem()).contains("CRC32C mismatch");
        DeadLetter letter = WireCodec.DEAD_LETTER.decode(checked.deadLetter().f2);
        assertThat(letter.getRaw().array()).isEqualTo(value);
        assertThat(letter.getOffset()).isEqualTo(9);
        assertThat(letter.getChunkIndex()).isEqualTo(VERSION.chunks().get(2).getChunkIndex());
    }

    @Test
    void aChunkDeclaringMoreThanTheLimitsIsRefusedWithoutState() {
        WeightChunk huge = WeightChunk.newBuilder(VERSION.chunks().get(0)).setVersionBytes(Long.MAX_VALUE).build();

        ChunkChecks.Checked checked = checks.check(chunkRecord(MODEL, WireCodec.CHUNK.encode(huge), 0, 0), 0);

        assertThat(checked.stage()).isNull();
        assertThat(checked.receipt().crcMismatch()).isFalse();
        assertThat(checked.receipt().problem()).contains(String.valueOf(Long.MAX_VALUE));
        assertThat(checked.deadLetter()).isNotNull();
    }

    @Test
    void aChunkWhoseOwnGeometryDisagreesIsRefused() {
        WeightChunk third = VERSION.chunks().stream().filter(c -> c.getChunkIndex() == 3).findFirst().orElseThrow();
        WeightChunk misplaced = WeightChunk.newBuilder(third).setChunkOffset(third.getChunkOffset() - 500).build();

        ChunkChecks.Checked checked = checks.check(chunkRecord(MODEL, WireCodec.CHUNK.encode(misplaced), 0, 0), 0);

        assertThat(checked.stage()).isNull();
        assertThat(checked.receipt().problem()).contains("chunk 3 of", "implies");
    }

    @Test
    void anUndecodableChunkOrOneUnderAnotherModelsKeyIsOnlyDeadLettered() {
        ChunkChecks.Checked garbage = checks.check(chunkRecord(MODEL, new byte[] {1, 2, 3}, 0, 0), 0);
        ChunkChecks.Checked otherKey = checks.check(
                chunkRecord("org/other", WireCodec.CHUNK.encode(VERSION.chunks().get(0)), 0, 1), 0);

        for (ChunkChecks.Checked checked : new ChunkChecks.Checked[] {garbage, otherKey}) {
            assertThat(checked.deadLetter()).isNotNull();
            assertThat(checked.stage()).isNull();
            assertThat(checked.receipt()).isNull();
            assertThat(checked.passThrough()).isNull();
        }
    }

    @Test
    void manifestsPassThroughUndecodedAndAnOverlongModelKeyIsDeadLetteredUnderItsCoordinates() {
        InputRecord manifest = new InputRecord(InputRecord.Kind.MANIFEST, TOPICS.manifests(), 0, 3, 0, MODEL,
                WireCodec.MANIFEST.encode(VERSION.manifest()));
        InputRecord overlong = new InputRecord(InputRecord.Kind.CONTROL, TOPICS.control(), 0, 4, 0, "m".repeat(300),
                new byte[] {1});

        assertThat(checks.check(manifest, 0).passThrough()).isSameAs(manifest);
        assertThat(new String(checks.check(overlong, 0).deadLetter().f1, StandardCharsets.UTF_8))
                .isEqualTo(TOPICS.control() + "/0@4");
    }

    @Test
    void receiptsCrossTheNetworkIntactAndRefusedOnesCarryAtMostAClippedPublishId() throws Exception {
        ChunkReceipt good = checks.check(chunkRecord(MODEL, WireCodec.CHUNK.encode(VERSION.chunks().get(1)), 2, 3), 0)
                .receipt();
        WeightChunk longId = WeightChunk.newBuilder(VERSION.chunks().get(0)).setPublishId("p".repeat(1 << 20)).build();
        ChunkReceipt refused = checks.check(chunkRecord(MODEL, WireCodec.CHUNK.encode(longId), 0, 0), 0).receipt();

        assertThat(roundTrip(good)).isEqualTo(good);
        assertThat(roundTrip(refused)).isEqualTo(refused);
        assertThat(refused.publishId().length()).isGreaterThan(PublishChecks.MAX_PUBLISH_ID_CHARS)
                .isLessThan(4096);
    }

    private static ChunkReceipt roundTrip(ChunkReceipt receipt) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        ChunkReceiptSerializer.INSTANCE.serialize(receipt, out);
        return ChunkReceiptSerializer.INSTANCE.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }

    private static InputRecord chunkRecord(String key, byte[] value, int partition, long offset) {
        return new InputRecord(InputRecord.Kind.CHUNK, TOPICS.chunks(), partition, offset, 0, key, value);
    }
}
