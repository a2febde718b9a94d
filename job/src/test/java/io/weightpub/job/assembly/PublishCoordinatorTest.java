package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.source.InputRecord;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.DigestKind;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.schemas.signing.SignatureVerifier;

import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The coordinator's state machine on receipts, as plain calls on an in-memory context: no Flink. */
class PublishCoordinatorTest {

    private static final TopicNames TOPICS = TopicNames.of("coord");
    private static final String MODEL = "org/model";
    private static final long TIMEOUT_MS = 60_000;

    private final MapCoordinatorContext ctx = new MapCoordinatorContext();
    private final ChunkChecks checker = new ChunkChecks(new PublishChecks(PublishLimits.defaults()),
            new AssemblerRecords(TOPICS.status(), TOPICS.deadLetters(), 1024));
    private final PublishLifecycle lifecycle;
    private final PublishCoordinator coordinator;
    private long offset;

    PublishCoordinatorTest() {
        AssemblerMetrics metrics = new AssemblerMetrics(new UnregisteredMetricsGroup(), new HashSet<>());
        PublishChecks checks = new PublishChecks(PublishLimits.defaults());
        lifecycle = new PublishLifecycle(TOPICS, TIMEOUT_MS, 8, checks,
                new AssemblerRecords(TOPICS.status(), TOPICS.deadLetters(), 1024), metrics, new HashSet<>());
        coordinator = new PublishCoordinator(checks, SignatureVerifier.acceptingAll(), lifecycle, metrics);
    }

    @Test
    void receiptsInAnyOrderFromAnyPartitionCompleteTheVersionWithTheirOffsetsInTheIndex() throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 1, 12, 5000, 16 * 1024, 1000);
        List<WeightChunk> chunks = new ArrayList<>(version.chunks());
        Collections.shuffle(chunks, new Random(5));

        for (int i = 0; i < chunks.size(); i++) {
            receipt(chunks.get(i), i % 4);
        }
        assertThat(ctx.events(WeightEvent.Kind.COMMIT_VERSION)).isEmpty();
        manifest(version);

        assertThat(ctx.events(WeightEvent.Kind.COMMIT_VERSION)).singleElement()
                .satisfies(commit -> assertThat(commit.version()).isEqualTo(1));
        assertThat(ctx.events(WeightEvent.Kind.STAGE_CHUNK)).as("payload never reaches the coordinator").isEmpty();
        assertThat(ctx.events(WeightEvent.Kind.BUCKET_COMPLETE))
                .hasSize(version.manifest().getBuckets().size());
        assertThat(WireCodec.VERSION_INDEX.decode(ctx.outbound(TOPICS.versions()).get(0).f2).getChunkRanges())
                .extracting(r -> r.getPartition()).containsExactly(0, 1, 2, 3);
        assertThat(ctx.publishes).isEmpty();
    }

    @Test
    void aRefusedReceiptFailsItsPublishAndAbortsItOnTheWorkersWithoutASecondDeadLetter() throws Exception {
        RandomPublish bad = RandomPublish.create(MODEL, 10, 2, 6, 3000, 8 * 1024, 1000);
        receipt(bad.chunks().get(0), 0);
        byte[] corrupted = WireCodec.CHUNK.encode(bad.chunks().get(1));
        corrupted[corrupted.length - 3] ^= 0x10;
        ChunkChecks.Checked checked = checker.check(record(corrupted, 0), ctx.now);

        coordinator.onChunk(ctx, checked.receipt());

        assertThat(ctx.outbound(TOPICS.deadLetters())).isEmpty(); // the checker wrote the one dead letter
        assertThat(ctx.events(WeightEvent.Kind.ABORT_VERSION)).singleElement()
                .satisfies(abort -> assertThat(abort.reason()).contains("CRC32C mismatch"));
        assertThat(statuses()).extracting(WorkerStatus::getState).containsExactly(VersionState.FAILED);

        RandomPublish next = RandomPublish.create(MODEL, 11, 3, 6, 3000, 8 * 1024, 1000);
        next.chunks().forEach(c -> receipt(c, 1));
        manifest(next);
        assertThat(ctx.events(WeightEvent.Kind.COMMIT_VERSION)).singleElement()
                .satisfies(commit -> assertThat(commit.publishId()).isEqualTo(next.publishId()));
    }

    @Test
    void aCrcBadDuplicateOfACountedChunkOnlyCostsItsDeadLetter() throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 4, 6, 3000, 8 * 1024, 1000);
        version.chunks().forEach(c -> receipt(c, 0));
        byte[] corrupted = WireCodec.CHUNK.encode(version.chunks().get(1));
        corrupted[corrupted.length - 3] ^= 0x10;

        coordinator.onChunk(ctx, checker.check(record(corrupted, 0), 0).receipt());
        manifest(version);

        assertThat(ctx.events(WeightEvent.Kind.ABORT_VERSION)).isEmpty();
        assertThat(ctx.events(WeightEvent.Kind.COMMIT_VERSION)).hasSize(1);
    }

    @Test
    void aChunkClaimingAnotherVersionSizeFailsThePublishWithADeadLetterThatNamesItsRecordWithoutItsBytes()
            throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 5, 6, 3000, 8 * 1024, 1000);
        receipt(version.chunks().get(0), 0);
        WeightChunk liar = WeightChunk.newBuilder(version.chunks().get(1))
                .setVersionBytes(version.totalBytes() + 4096).build();
        ChunkReceipt receipt = checker.check(record(WireCodec.CHUNK.encode(liar), 2), 0).receipt();
        assertThat(receipt.problem()).as("alone, the lie is consistent").isNull();

        coordinator.onChunk(ctx, receipt);

        assertThat(ctx.outbound(TOPICS.deadLetters())).singleElement().satisfies(tuple -> {
            DeadLetter letter = decode(tuple);
            assertThat(letter.getTopic()).isEqualTo(TOPICS.chunks());
            assertThat(letter.getOffset()).isEqualTo(receipt.offset());
            assertThat(letter.getRaw()).isNull();
            assertThat(letter.getRawSize()).isEqualTo(receipt.recordBytes());
            assertThat(letter.getReason()).contains(String.valueOf(version.totalBytes() + 4096));
        });
        assertThat(ctx.events(WeightEvent.Kind.ABORT_VERSION)).hasSize(1);
        assertThat(ctx.publishes).isEmpty();
    }

    @Test
    void aPublishRejectedAsStaleIsAbortedOnTheWorkersWhoseCheckersMayHaveStagedIt() throws Exception {
        RandomPublish v1 = RandomPublish.create(MODEL, 10, 6, 4, 2000, 8 * 1024, 1000);
        v1.chunks().forEach(c -> receipt(c, 0));
        manifest(v1);
        RandomPublish stale = RandomPublish.create(MODEL, 9, 7, 4, 2000, 8 * 1024, 1000);

        receipt(stale.chunks().get(0), 0);
        receipt(stale.chunks().get(1), 0);

        assertThat(ctx.events(WeightEvent.Kind.ABORT_VERSION)).singleElement()
                .satisfies(abort -> assertThat(abort.publishId()).isEqualTo(stale.publishId()));
        assertThat(statuses()).extracting(WorkerStatus::getState)
                .containsExactly(VersionState.COMPLETED, VersionState.REJECTED);
    }

    @Test
    void aPublishMissingAChunkTimesOutAndIsAbortedOnTheWorkers() throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 8, 4, 2000, 8 * 1024, 1000);
        version.chunks().subList(1, version.chunks().size()).forEach(c -> receipt(c, 0));
        manifest(version);
        assertThat(ctx.timers).containsExactly(TIMEOUT_MS);

        ctx.now = TIMEOUT_MS;
        lifecycle.expire(ctx);

        assertThat(ctx.events(WeightEvent.Kind.ABORT_VERSION)).singleElement()
                .satisfies(abort -> assertThat(abort.reason()).contains("timed out"));
        assertThat(ctx.publishes).isEmpty();
    }

    @Test
    void aManifestClaimingATreeLeafSizeThatIsNoPowerOfTwoIsADeadLetterWithThatReasonAndNeverCommits()
            throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 9, 4, 2000, 8 * 1024, 1000);
        version.chunks().forEach(c -> receipt(c, 0));
        VersionManifest lying = VersionManifest.newBuilder(version.manifest())
                .setDigestKind(DigestKind.SHA256_TREE).setLeafSize(100_000).build();

        coordinator.onManifest(ctx, new InputRecord(InputRecord.Kind.MANIFEST, TOPICS.manifests(), 0, offset++, 0,
                MODEL, WireCodec.MANIFEST.encode(lying)));

        assertThat(ctx.outbound(TOPICS.deadLetters())).singleElement().satisfies(tuple -> {
            DeadLetter letter = decode(tuple);
            assertThat(letter.getTopic()).isEqualTo(TOPICS.manifests());
            assertThat(letter.getReason()).contains("leaf size 100000 is not a power of two");
        });
        assertThat(ctx.events(WeightEvent.Kind.COMMIT_VERSION)).isEmpty();
    }

    private void receipt(WeightChunk chunk, int partition) {
        try {
            ChunkChecks.Checked checked = checker.check(record(WireCodec.CHUNK.encode(chunk), partition), ctx.now);
            assertThat(checked.receipt()).isNotNull();
            coordinator.onChunk(ctx, checked.receipt());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private void manifest(RandomPublish version) throws Exception {
        coordinator.onManifest(ctx, new InputRecord(InputRecord.Kind.MANIFEST, TOPICS.manifests(), 0, offset++, 0,
                MODEL, WireCodec.MANIFEST.encode(version.manifest())));
    }

    private InputRecord record(byte[] value, int partition) {
        return new InputRecord(InputRecord.Kind.CHUNK, TOPICS.chunks(), partition, offset++, 0, MODEL, value);
    }

    private List<WorkerStatus> statuses() throws WireFormatException {
        List<WorkerStatus> out = new ArrayList<>();
        for (Tuple3<String, byte[], byte[]> record : ctx.outbound(TOPICS.status())) {
            out.add(WireCodec.STATUS.decode(record.f2));
        }
        return out;
    }

    private static DeadLetter decode(Tuple3<String, byte[], byte[]> record) {
        try {
            return WireCodec.DEAD_LETTER.decode(record.f2);
        } catch (WireFormatException e) {
            throw new AssertionError(e);
        }
    }
}
