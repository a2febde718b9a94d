package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.JobOptions;
import io.weightpub.job.source.InputRecord;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WorkerStatus;

import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sizes, counts and offsets a record declares are checked against the limits and each other before
 * the assembler allocates or stores anything for them; each bad record is one dead letter and the
 * model keeps publishing.
 */
class BoundedAssemblyTest {

    private static final String MODEL = "model-7b";
    /** Keyed state of a few publishes' metadata: far below what the hostile records claim. */
    private static final long SMALL_STATE_BYTES = 4096;

    private AssemblerHarness harness;

    @BeforeEach
    void open() throws Exception {
        harness = new AssemblerHarness(new PipelineHarness(AssemblerHarness.TOPICS, 60_000, 8, 1024));
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    private static WeightChunk.Builder chunk(String publishId, int payloadBytes) {
        byte[] payload = new byte[payloadBytes];
        CRC32C crc = new CRC32C();
        crc.update(payload);
        return WeightChunk.newBuilder().setModelId(MODEL).setStep(5).setPublishId(publishId).setBucketIndex(0)
                .setBucketCount(1).setChunkIndex(0).setChunkCount(1).setBucketOffset(0).setBucketSize(payloadBytes)
                .setChunkOffset(0).setVersionBytes(payloadBytes).setCrc32c((int) crc.getValue())
                .setPayload(ByteBuffer.wrap(payload));
    }

    /** A valid publish after the hostile records: it must become version 1 with its bytes. */
    private void assertAValidPublishStillBecomesVersionOne(long step) throws Exception {
        RandomPublish good = RandomPublish.create(MODEL, step, 21, 6, 3000, 8 * 1024, 1000);
        harness.publish(good);
        assertThat(harness.events(WeightEvent.Kind.COMMIT_VERSION)).singleElement().satisfies(commit -> {
            assertThat(commit.publishId()).isEqualTo(good.publishId());
            assertThat(commit.version()).isEqualTo(1);
        });
    }

    @Test
    void chunkDeclaringTwoBillionBucketsIsOneDeadLetterAndAllocatesNothing() throws Exception {
        harness.chunks(List.of(chunk("hostile", 1).setBucketCount(Integer.MAX_VALUE).build()));

        assertThat(harness.deadLetters()).singleElement()
                .satisfies(letter -> assertThat(letter.getReason()).contains("2147483647 buckets"));
        assertThat(harness.stateBytes()).isLessThan(SMALL_STATE_BYTES);
        assertAValidPublishStillBecomesVersionOne(10);
    }

    @Test
    void oneBytePayloadClaimingMaxIntChunksKeepsTheKeyedStateSmall() throws Exception {
        // Consistent with itself: a chunk size of 1 cuts a bucket of 2^31-1 bytes into 2^31-1 chunks.
        harness.chunks(List.of(chunk("hostile", 1).setChunkCount(Integer.MAX_VALUE)
                .setBucketSize(Integer.MAX_VALUE).setVersionBytes(Integer.MAX_VALUE).build()));

        assertThat(harness.deadLetters()).singleElement()
                .satisfies(letter -> assertThat(letter.getReason()).contains("2147483647 chunks"));
        assertThat(harness.events(WeightEvent.Kind.STAGE_CHUNK)).isEmpty();
        assertThat(harness.stateBytes()).isLessThan(SMALL_STATE_BYTES);
        assertAValidPublishStillBecomesVersionOne(10);
    }

    @Test
    void chunkAtTheLastIndexOfABucketOfAMillionChunksStoresOnlyWhatItSaw() throws Exception {
        int chunks = 1 << 20;
        harness.chunks(List.of(chunk("sparse", 1).setChunkCount(chunks).setChunkIndex(chunks - 1)
                .setChunkOffset(chunks - 1).setBucketSize(chunks).setVersionBytes(chunks).build()));

        assertThat(harness.deadLetters()).isEmpty();
        assertThat(harness.events(WeightEvent.Kind.STAGE_CHUNK)).hasSize(1);
        assertThat(harness.stateBytes()).isLessThan(SMALL_STATE_BYTES);
    }

    @Test
    void versionOverTheByteLimitIsRejectedBeforeAnyChunkReachesAWorker() throws Exception {
        harness.chunks(List.of(chunk("huge", 1 << 10).setChunkCount(1 << 30).setBucketSize(1L << 40)
                .setVersionBytes(1L << 50).setBucketCount(1 << 10).build()));

        assertThat(harness.events(WeightEvent.Kind.STAGE_CHUNK)).isEmpty();
        assertThat(harness.deadLetters()).singleElement()
                .satisfies(letter -> assertThat(letter.getReason()).contains(String.valueOf(1L << 50))
                        .contains("limits.max-version-bytes"));
        assertThat(harness.statuses()).extracting(WorkerStatus::getState).containsExactly(VersionState.FAILED);
    }

    @Test
    void bucketOffsetThatOverflowsALongIsOneDeadLetterNotAStagedChunk() throws Exception {
        harness.chunks(List.of(chunk("wrap", 100).setBucketOffset(Long.MAX_VALUE - 10).build()));

        assertThat(harness.events(WeightEvent.Kind.STAGE_CHUNK)).isEmpty();
        assertThat(harness.deadLetters()).singleElement()
                .satisfies(letter -> assertThat(letter.getReason()).contains(String.valueOf(Long.MAX_VALUE - 10)));
        assertAValidPublishStillBecomesVersionOne(10);
    }

    @Test
    void lastBucketEndingBeforeTheDeclaredVersionSizeIsOneDeadLetterNotAStagedChunk() throws Exception {
        // A 2-bucket version whose chunks say it has 2^31-1 bytes: its last bucket ends at 8192.
        RandomPublish version = RandomPublish.create(MODEL, 10, 31, 4, 3000, 4096, 512);
        WeightChunk last = version.chunks().get(version.chunks().size() - 1);
        assertThat(last.getBucketIndex()).isEqualTo(last.getBucketCount() - 1).isPositive();
        harness.chunks(List.of(WeightChunk.newBuilder(last).setVersionBytes(Integer.MAX_VALUE).build()));

        assertThat(harness.events(WeightEvent.Kind.STAGE_CHUNK)).isEmpty();
        assertThat(harness.deadLetters()).singleElement().satisfies(letter -> assertThat(letter.getReason())
                .contains("last bucket").contains(String.valueOf(Integer.MAX_VALUE)));
        assertAValidPublishStillBecomesVersionOne(11);
    }

    @Test
    void firstBucketNotAtOffsetZeroIsOneDeadLetterNotAStagedChunk() throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 32, 4, 3000, 4096, 512);
        WeightChunk first = version.chunks().get(0);
        harness.chunks(List.of(WeightChunk.newBuilder(first).setBucketOffset(1).build()));

        assertThat(harness.events(WeightEvent.Kind.STAGE_CHUNK)).isEmpty();
        assertThat(harness.deadLetters()).singleElement()
                .satisfies(letter -> assertThat(letter.getReason()).contains("bucket 0").contains("offset 0"));
        assertAValidPublishStillBecomesVersionOne(11);
    }

    @Test
    void manifestWhoseTensorShapeOverflowsIsRejectedAndNeverCommitted() throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 22, 6, 3000, 8 * 1024, 1000);
        List<BucketInfo> buckets = new ArrayList<>(version.manifest().getBuckets());
        BucketInfo first = buckets.get(0);
        List<TensorMeta> tensors = new ArrayList<>(first.getTensors());
        tensors.set(0, TensorMeta.newBuilder(tensors.get(0)).setDtype("F64")
                .setShape(List.of(1L << 40, 1L << 40)).setNumel(0).build());
        buckets.set(0, BucketInfo.newBuilder(first).setTensors(tensors).build());

        harness.chunks(version.chunks());
        harness.manifest(VersionManifest.newBuilder(version.manifest()).setBuckets(buckets).build());

        assertThat(harness.events(WeightEvent.Kind.COMMIT_VERSION)).isEmpty();
        assertThat(harness.deadLetters()).singleElement()
                .satisfies(letter -> assertThat(letter.getReason()).contains("more elements than a long counts"));
        assertThat(harness.statuses()).extracting(WorkerStatus::getState).containsExactly(VersionState.FAILED);
    }

    @Test
    void stepJumpingFurtherThanTheLimitIsRejectedWithADeadLetterAndTheModelGoesOn() throws Exception {
        harness.publish(RandomPublish.create(MODEL, 10, 23, 4, 2000, 8 * 1024, 1000));
        RandomPublish poison = RandomPublish.create(MODEL, Long.MAX_VALUE, 24, 4, 2000, 8 * 1024, 1000);
        harness.publish(poison);
        harness.publish(RandomPublish.create(MODEL, 11, 25, 4, 2000, 8 * 1024, 1000));

        assertThat(harness.events(WeightEvent.Kind.COMMIT_VERSION)).extracting(WeightEvent::version)
                .containsExactly(1L, 2L);
        assertThat(harness.statuses()).extracting(WorkerStatus::getState)
                .containsExactly(VersionState.COMPLETED, VersionState.REJECTED, VersionState.COMPLETED);
        assertThat(harness.statuses().get(1).getMessage()).contains("limits.max-step-jump");
        assertThat(harness.deadLetters()).singleElement()
                .satisfies(letter -> assertThat(letter.getPublishId()).isEqualTo(poison.publishId()));
    }

    @Test
    void resetStepLetsAModelPoisonedByAHugeFirstStepPublishAgain() throws Exception {
        harness.publish(RandomPublish.create(MODEL, Long.MAX_VALUE, 26, 4, 2000, 8 * 1024, 1000));
        harness.control(ControlRecord.newBuilder().setModelId(MODEL).setAction(ControlAction.RESET_STEP)
                .setRequestId("reset-1").setReason("poisoned watermark").setRequestedAtMs(0).build());
        harness.publish(RandomPublish.create(MODEL, 11, 27, 4, 2000, 8 * 1024, 1000));

        assertThat(harness.events(WeightEvent.Kind.COMMIT_VERSION)).extracting(WeightEvent::version)
                .containsExactly(1L, 2L);
        List<WorkerStatus> statuses = harness.statuses();
        assertThat(statuses).extracting(WorkerStatus::getState)
                .containsExactly(VersionState.COMPLETED, VersionState.COMPLETED, VersionState.COMPLETED);
        assertThat(statuses.get(1).getMessage()).contains("reset-1").contains("step watermark")
                .contains(String.valueOf(Long.MAX_VALUE)).contains("forgotten");
        assertThat(harness.deadLetters()).isEmpty();
    }

    @Test
    void resetStepToAGivenStepMakesEarlierStepsStale() throws Exception {
        harness.publish(RandomPublish.create(MODEL, 100, 28, 4, 2000, 8 * 1024, 1000));
        harness.control(ControlRecord.newBuilder().setModelId(MODEL).setAction(ControlAction.RESET_STEP)
                .setStep(50L).setRequestId("reset-2").setRequestedAtMs(0).build());
        harness.publish(RandomPublish.create(MODEL, 40, 29, 4, 2000, 8 * 1024, 1000));
        harness.publish(RandomPublish.create(MODEL, 60, 30, 4, 2000, 8 * 1024, 1000));

        assertThat(harness.statuses()).extracting(WorkerStatus::getState).containsExactly(VersionState.COMPLETED,
                VersionState.COMPLETED, VersionState.REJECTED, VersionState.COMPLETED);
        assertThat(harness.statuses().get(1).getMessage()).contains("from 100 to 50");
    }

    @Test
    void recordsWhoseKeyNamesNoModelAreDeadLetteredUnderANonNullKeyThatFlinkCanCopy() throws Exception {
        harness.send(InputRecord.Kind.CHUNK, InputRecord.NO_MODEL, null);
        harness.send(InputRecord.Kind.CHUNK, InputRecord.NO_MODEL, new byte[0]);
        harness.send(InputRecord.Kind.MANIFEST, InputRecord.NO_MODEL, new byte[] {1, 2, 3});
        harness.send(InputRecord.Kind.CONTROL, InputRecord.NO_MODEL, WireCodec.CHUNK.encode(chunk("x", 1).build()));

        List<Tuple3<String, byte[], byte[]>> letters = harness.outbound(AssemblerHarness.TOPICS.deadLetters());
        assertThat(letters).hasSize(4);
        TypeSerializer<Tuple3<String, byte[], byte[]>> serializer =
                OutboundRecord.TYPE_INFO.createSerializer(new ExecutionConfig().getSerializerConfig());
        for (Tuple3<String, byte[], byte[]> letter : letters) {
            assertThat(letter.f1).isNotNull();
            assertThat(serializer.copy(letter).f2).isEqualTo(letter.f2);
        }
        assertThat(harness.deadLetters()).extracting(DeadLetter::getReason).allSatisfy(reason ->
                assertThat(reason).isNotBlank());
    }

    @Test
    void manifestWithMoreTensorsThanTheLimitIsRejectedNamingTheLimit() throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.MAX_TENSORS, 3);
        try (AssemblerHarness tight = new AssemblerHarness(new PipelineHarness(
                AssemblerHarness.TOPICS, 60_000, 8, 1024, PublishLimits.fromConfig(conf)))) {
            tight.manifest(RandomPublish.create(MODEL, 10, 31, 6, 3000, 8 * 1024, 1000).manifest());

            assertThat(tight.deadLetters()).singleElement().satisfies(letter -> assertThat(letter.getReason())
                    .contains("6 tensors; at most 3 per version (limits.max-tensors)"));
            assertThat(tight.statuses()).extracting(WorkerStatus::getState).containsExactly(VersionState.FAILED);
        }
    }

    @Test
    void manifestRecordOverTheByteLimitIsQuarantinedBeforeItIsDecoded() throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.MAX_MANIFEST_BYTES, MemorySize.parse("100 b"));
        try (AssemblerHarness tight = new AssemblerHarness(new PipelineHarness(
                AssemblerHarness.TOPICS, 60_000, 8, 1024, PublishLimits.fromConfig(conf)))) {
            tight.manifest(RandomPublish.create(MODEL, 10, 32, 6, 3000, 8 * 1024, 1000).manifest());

            assertThat(tight.deadLetters()).singleElement().satisfies(letter -> assertThat(letter.getReason())
                    .contains("is over 100 (limits.max-manifest-bytes)"));
        }
    }

    @Test
    void everyHostileRecordOfABatchIsExactlyOneDeadLetterAndTheStateStaysSmall() throws Exception {
        int sent = 0;
        for (int i = 0; i < 50; i++) {
            String id = "hostile-" + i;
            harness.chunks(List.of(
                    chunk(id, 1).setBucketCount(Integer.MAX_VALUE - i).build(),
                    chunk(id + "-b", 1).setChunkCount(Integer.MAX_VALUE - i).setBucketSize(Integer.MAX_VALUE)
                            .setVersionBytes(Integer.MAX_VALUE).build(),
                    chunk(id + "-c", 8).setBucketOffset(Long.MAX_VALUE - i).build(),
                    chunk(id + "-d", 8).setVersionBytes(-1 - i).build()));
            harness.send(InputRecord.Kind.MANIFEST, MODEL, new byte[] {(byte) 0xC3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1});
            sent += 5;
        }

        assertThat(harness.deadLetters()).hasSize(sent);
        assertThat(harness.events()).noneMatch(e -> e.kind() == WeightEvent.Kind.STAGE_CHUNK
                || e.kind() == WeightEvent.Kind.COMMIT_VERSION);
        long stateBytes = harness.stateBytes();
        System.out.printf("keyed state after %d hostile records: %d bytes%n", sent, stateBytes);
        assertThat(stateBytes).isLessThan(64 * 1024);
        assertAValidPublishStillBecomesVersionOne(10);
    }

    @Test
    void aMegabytePublishIdIsQuarantinedWithoutBeingKeptInState() throws Exception {
        String id = "p".repeat(1 << 20);
        harness.chunks(List.of(chunk(id, 1).build(), chunk(id, 1).build()));

        assertThat(harness.deadLetters()).hasSize(2).allSatisfy(letter -> assertThat(letter.getReason())
                .contains("publish id of 1048576 characters"));
        assertThat(harness.outbound(AssemblerHarness.TOPICS.deadLetters()))
                .allSatisfy(letter -> assertThat(letter.f2.length).isLessThan(4096));
        assertThat(harness.outbound(AssemblerHarness.TOPICS.status()))
                .allSatisfy(status -> assertThat(status.f2.length).isLessThan(4096));
        assertThat(harness.stateBytes()).isLessThan(SMALL_STATE_BYTES);
    }

    @Test
    void aModelIdTooLongForAKafkaRecordIsQuarantinedUnderTheRecordsCoordinates() throws Exception {
        String model = "m".repeat(1 << 20);
        harness.send(InputRecord.Kind.CONTROL, model, new byte[] {1});

        assertThat(harness.outbound(AssemblerHarness.TOPICS.deadLetters())).singleElement().satisfies(letter -> {
            assertThat(new String(letter.f1, java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("unit.control/0@0");
            assertThat(letter.f2.length).isLessThan(4096);
        });
        assertThat(harness.deadLetters()).singleElement().satisfies(letter -> assertThat(letter.getReason())
                .contains("model id of 1048576 characters"));
    }

    @Test
    void aPublishThatStartedBeforeTheWatermarkExistedIsStillBoundedWhenItCompletes() throws Exception {
        RandomPublish poison = RandomPublish.create(MODEL, Long.MAX_VALUE, 33, 4, 2000, 8 * 1024, 1000);
        harness.chunks(poison.chunks());
        harness.publish(RandomPublish.create(MODEL, 10, 34, 4, 2000, 8 * 1024, 1000));
        harness.manifest(poison.manifest());
        harness.publish(RandomPublish.create(MODEL, 11, 35, 4, 2000, 8 * 1024, 1000));

        assertThat(harness.statuses()).extracting(WorkerStatus::getState)
                .containsExactly(VersionState.COMPLETED, VersionState.REJECTED, VersionState.COMPLETED);
        assertThat(harness.statuses().get(1).getMessage()).contains("limits.max-step-jump");
        assertThat(harness.events(WeightEvent.Kind.ABORT_VERSION)).singleElement()
                .satisfies(abort -> assertThat(abort.publishId()).isEqualTo(poison.publishId()));
    }

    @Test
    void aCorruptedDuplicateOfAStagedChunkIsQuarantinedAndThePublishStillCompletes() throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 36, 4, 2000, 8 * 1024, 1000);
        byte[] corrupted = WireCodec.CHUNK.encode(version.chunks().get(1));
        corrupted[corrupted.length - 3] ^= 0x10;

        harness.chunks(version.chunks());
        harness.send(InputRecord.Kind.CHUNK, MODEL, corrupted);
        harness.manifest(version.manifest());

        // Its checker cannot know it is a duplicate; its coordinator does, and keeps the publish going.
        assertThat(harness.deadLetters()).singleElement().satisfies(letter -> assertThat(letter.getReason())
                .contains("CRC32C mismatch").contains("the staged copy stands"));
        assertThat(harness.events(WeightEvent.Kind.COMMIT_VERSION)).singleElement()
                .satisfies(commit -> assertThat(commit.publishId()).isEqualTo(version.publishId()));
    }
}
