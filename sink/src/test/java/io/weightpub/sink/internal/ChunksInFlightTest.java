package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.sink.CommitMode;
import io.weightpub.sink.SinkOptions;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.ActiveVersion;
import io.weightpub.store.MemoryStats;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.WeightStore;
import io.weightpub.testutils.TestVersion;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * A worker fed by the job's parallel checkers and its coordinator on separate channels: a commit
 * may come before the last chunks of its publish, chunks may come after their publish was aborted
 * or flipped, and chunks the coordinator will refuse reach the worker first. None of it may flip
 * bytes the worker does not hold, re-open a slot, write outside one, or throw.
 */
class ChunksInFlightTest {

    private static final String MODEL = "org/parallel";
    private static final String SINK = "in-flight";
    private static final int BUCKET = 64 * 1024;
    private static final int CHUNK = 16 * 1024;

    @AfterEach
    void release() {
        WeightSink.release(SINK);
    }

    @Test
    void aCommitBeforeItsLastChunksIsHeldThenAppliedWhenTheyArrive() {
        WeightSinkWriter writer = writer(CommitMode.IMMEDIATE);
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, 4, BUCKET);
        List<WeightEvent> chunks = chunks(v1);

        chunks.subList(0, 10).forEach(e -> writer.write(e, null));
        writer.write(v1.commit(), null);

        assertThat(store.status(MODEL).active()).isEmpty();
        assertThat(store.status(MODEL).lastError()).isEmpty();
        chunks.subList(10, chunks.size()).forEach(e -> writer.write(e, null));

        assertActive(store, 1, v1);
        assertThat(store.status(MODEL).staged()).isEmpty();
    }

    @Test
    void aCommitBeforeAnyOfItsChunksIsHeldThenApplied() {
        WeightSinkWriter writer = writer(CommitMode.IMMEDIATE);
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, BUCKET);

        writer.write(v1.commit(), null);
        chunks(v1).forEach(e -> writer.write(e, null));

        assertActive(store(), 1, v1);
    }

    @Test
    void aCommitStillMissingChunksAtTheBarrierFailsWithoutFlippingThePartialBytes() {
        WeightSinkWriter writer = writer(CommitMode.ON_CHECKPOINT);
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, 4, BUCKET);
        List<WeightEvent> chunks = chunks(v1);

        chunks.subList(0, chunks.size() - 1).forEach(e -> writer.write(e, null));
        writer.write(v1.commit(), null);

        // No chunks topic to re-read the missing chunk from: the version fails here, nothing flips.
        assertThat(writer.prepareCommit()).isEmpty();
        assertThat(store.status(MODEL).active()).isEmpty();
        assertThat(store.status(MODEL).staged()).isEmpty();
        assertThat(store.status(MODEL).lastError()).hasValueSatisfying(error -> assertThat(error)
                .contains("version 1", "cannot commit on worker 0"));
        assertThat(writer.snapshotState(1).get(0).models().get(0).heldCommits()).isEmpty();

        // The next version is not blocked behind it.
        TestVersion v2 = TestVersion.of(MODEL, 2, 4, BUCKET);
        v2.events(CHUNK).forEach(e -> writer.write(e, null));
        List<FlipCommittable> committables = List.copyOf(writer.prepareCommit());
        assertThat(committables).extracting(FlipCommittable::version).containsExactly(2L);
        committables.forEach(c -> Flips.flip(WorkerRegistry.get(SINK, 0).orElseThrow(), c, "test checkpoint"));
        assertActive(store, 2, v2);
    }

    @Test
    void chunksArrivingAfterTheAbortOfTheirPublishDoNotReopenASlot() {
        WeightSinkWriter writer = writer(CommitMode.IMMEDIATE);
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, 4, BUCKET);
        List<WeightEvent> chunks = chunks(v1);

        chunks.subList(0, 4).forEach(e -> writer.write(e, null));
        assertThat(store.status(MODEL).staged()).hasSize(1);
        writer.write(WeightEvent.abortVersion(MODEL, v1.publishId(), v1.step(), "CRC32C mismatch"), null);
        MemoryStats afterAbort = store.memory();
        chunks.subList(4, chunks.size()).forEach(e -> writer.write(e, null));

        assertThat(store.status(MODEL).staged()).isEmpty();
        assertThat(store.memory()).isEqualTo(afterAbort);
        assertThat(writer.snapshotState(1).get(0).models().get(0).inFlight()).isEmpty();
    }

    @Test
    void chunksOfAPublishAbortedBeforeItsFirstChunkCameNeverOpenASlot() {
        WeightSinkWriter writer = writer(CommitMode.IMMEDIATE);
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, BUCKET);

        writer.write(WeightEvent.abortVersion(MODEL, v1.publishId(), v1.step(), "stale publish"), null);
        chunks(v1).forEach(e -> writer.write(e, null));

        assertThat(store().status(MODEL).staged()).isEmpty();
        assertThat(store().memory().slotBytes()).isZero();
    }

    @Test
    void lateCopiesOfAFlippedPublishsChunksAreIgnored() {
        WeightSinkWriter writer = writer(CommitMode.ON_CHECKPOINT);
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, BUCKET);
        v1.events(CHUNK).forEach(e -> writer.write(e, null));
        writer.prepareCommit().forEach(c -> Flips.flip(WorkerRegistry.get(SINK, 0).orElseThrow(), c, "test"));
        writer.snapshotState(1);

        chunks(v1).forEach(e -> writer.write(e, null));

        assertActive(store, 1, v1);
        assertThat(store.status(MODEL).staged()).isEmpty();
    }

    @Test
    void chunksThatLieAboutTheirPublishsSizeOrStepAreIgnoredWithoutThrowing() {
        WeightSinkWriter writer = writer(CommitMode.IMMEDIATE);
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, BUCKET);
        List<WeightEvent> chunks = chunks(v1);
        writer.write(chunks.get(0), null);
        byte[] payload = new byte[CHUNK];
        // Claims a version twice as large and writes past the end of the slot staged for the real one.
        WeightEvent larger = WeightEvent.stageChunk(MODEL, v1.publishId(), v1.step(), 4L * BUCKET, 3L * BUCKET,
                3, 0, 0, 7, payload);
        WeightEvent otherStep = WeightEvent.stageChunk(MODEL, v1.publishId(), v1.step() + 1, 2L * BUCKET, CHUNK,
                0, 1, 0, 8, payload);

        assertThatCode(() -> {
            writer.write(larger, null);
            writer.write(otherStep, null);
        }).doesNotThrowAnyException();
        chunks.subList(1, chunks.size()).forEach(e -> writer.write(e, null));
        writer.write(v1.commit(), null);

        assertActive(store(), 1, v1);
    }

    @Test
    void aDuplicateChunkWithOtherBytesDoesNotOverwriteTheCopyStagedFirst() {
        WeightSinkWriter writer = writer(CommitMode.IMMEDIATE);
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, BUCKET);
        List<WeightEvent> chunks = chunks(v1);
        WeightEvent first = chunks.get(0);
        byte[] other = Arrays.copyOfRange(first.payload(), first.payloadOffset(),
                first.payloadOffset() + first.payloadLength());
        other[0] ^= 1;

        chunks.forEach(e -> writer.write(e, null));
        writer.write(WeightEvent.stageChunk(MODEL, v1.publishId(), v1.step(), first.versionBytes(),
                first.versionOffset(), first.bucketIndex(), first.chunkIndex(), 0, 99, other), null);
        writer.write(v1.commit(), null);

        assertActive(store(), 1, v1);
    }

    @Test
    void aBucketCompleteBeforeTheBucketsLastChunksStillVerifiesOnceTheyCame() {
        WeightSinkWriter writer = writer(CommitMode.IMMEDIATE);
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, BUCKET);
        List<WeightEvent> chunks = chunks(v1);

        writer.write(chunks.get(0), null);
        writer.write(WeightEvent.bucketComplete(MODEL, v1.publishId(), v1.step(), 2L * BUCKET, 0, 0, BUCKET), null);
        writer.write(WeightEvent.bucketComplete(MODEL, v1.publishId(), v1.step(), 2L * BUCKET, 1, BUCKET, BUCKET),
                null);
        writer.write(v1.commit(), null);
        chunks.subList(1, chunks.size()).forEach(e -> writer.write(e, null));

        assertActive(store(), 1, v1);
    }

    /** The version's chunks in order (the job's checkers send them in any order). */
    private static List<WeightEvent> chunks(TestVersion version) {
        List<WeightEvent> events = new ArrayList<>(version.events(CHUNK));
        events.remove(events.size() - 1);
        Collections.reverse(events);
        return events;
    }

    private static void assertActive(WeightStore store, long version, TestVersion content) {
        assertThat(store.status(MODEL).active().map(VersionInfo::version)).hasValue(version);
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(lease.info().publishId()).isEqualTo(content.publishId());
            byte[] bytes = new byte[(int) lease.info().sizeBytes()];
            lease.read(0, bytes, 0, bytes.length);
            assertThat(bytes).isEqualTo(content.bytes());
        }
    }

    private static WeightStore store() {
        return WeightSink.store(SINK, 0).orElseThrow();
    }

    private static WeightSinkWriter writer(CommitMode mode) {
        Configuration config = new Configuration();
        config.set(SinkOptions.NAME, SINK);
        WeightSink sink = WeightSink.fromConfig(config).backend(StoreBackend.HOST).commitMode(mode).build();
        return new WeightSinkWriter(sink.workerSettings(), 0, "job", OptionalLong.empty(), List.of(),
                UnregisteredMetricsGroup.createSinkWriterMetricGroup());
    }
}
