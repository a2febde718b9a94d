package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.source.InputRecord;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WorkerStatus;

import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class VersionCoordinatorTest {

    private static final TopicNames TOPICS = TopicNames.of("unit");
    private static final long TIMEOUT_MS = 60_000;
    private static final String MODEL = "model-7b";

    private PipelineHarness harness;
    private long nextOffset;

    @BeforeEach
    void open() throws Exception {
        harness = newHarness();
        harness.open();
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    @Test
    void completePublishStreamsEveryChunkThenCommitsVersionOne() throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 1, 12, 5000, 16 * 1024, 1000);

        sendChunks(version.chunks());
        sendManifest(version);

        List<WeightEvent> events = harness.extractOutputValues();
        assertThat(events).filteredOn(e -> e.kind() == WeightEvent.Kind.STAGE_CHUNK).hasSize(version.chunks().size());
        assertThat(events).filteredOn(e -> e.kind() == WeightEvent.Kind.BUCKET_COMPLETE)
                .extracting(WeightEvent::bucketIndex)
                .containsExactlyInAnyOrderElementsOf(version.manifest().getBuckets().stream()
                        .map(b -> b.getIndex()).collect(Collectors.toList()));
        assertThat(reassemble(events)).isEqualTo(version.expectedBytes());
        WeightEvent commit = events.get(events.size() - 1);
        assertThat(commit.kind()).isEqualTo(WeightEvent.Kind.COMMIT_VERSION);
        assertThat(commit.version()).isEqualTo(1);
        assertThat(commit.publishId()).isEqualTo(version.publishId());
        assertThat(index()).singleElement().satisfies(entry -> {
            assertThat(entry.getVersion()).isEqualTo(1);
            assertThat(entry.getTotalBytes()).isEqualTo(version.totalBytes());
            assertThat(entry.getChunkRanges()).isNotEmpty();
            assertThat(entry.getBucketSha256()).hasSize(version.manifest().getBuckets().size());
        });
        assertThat(jobStatuses()).extracting(WorkerStatus::getState).containsExactly(VersionState.COMPLETED);
    }

    @Test
    void shuffledDuplicatedChunksWithManifestFirstCommitOnceWithTheSameBytes() throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 2, 20, 4000, 8 * 1024, 700);
        List<WeightChunk> chunks = new ArrayList<>(version.chunks());
        chunks.addAll(version.chunks());
        Collections.shuffle(chunks, new Random(3));

        sendManifest(version);
        sendChunks(chunks);

        List<WeightEvent> events = harness.extractOutputValues();
        // Checkers keep no state: every copy goes to the workers, which keep the first (ChunkStager).
        assertThat(events.stream().filter(e -> e.kind() == WeightEvent.Kind.STAGE_CHUNK)).hasSize(chunks.size());
        assertThat(events.stream().filter(e -> e.kind() == WeightEvent.Kind.COMMIT_VERSION)).hasSize(1);
        assertThat(reassemble(events)).isEqualTo(version.expectedBytes());
        assertThat(deadLetters()).isEmpty();
    }

    @Test
    void corruptedChunkIsQuarantinedAndFailsItsPublishWhileTheNextPublishBecomesVersionOne() throws Exception {
        RandomPublish bad = RandomPublish.create(MODEL, 10, 4, 6, 3000, 8 * 1024, 1000);
        RandomPublish good = RandomPublish.create(MODEL, 11, 5, 6, 3000, 8 * 1024, 1000);
        WeightChunk victim = bad.chunks().get(2);
        byte[] corrupted = WireCodec.CHUNK.encode(victim);
        corrupted[corrupted.length - 5] ^= 0x40;

        sendChunks(bad.chunks().subList(0, 2));
        send(InputRecord.Kind.CHUNK, MODEL, corrupted);
        sendChunks(bad.chunks().subList(3, bad.chunks().size()));
        sendManifest(bad);
        sendChunks(good.chunks());
        sendManifest(good);

        List<DeadLetter> letters = deadLetters();
        assertThat(letters.get(0).getReason()).contains("CRC32C mismatch");
        assertThat(letters.get(0).getBucketIndex()).isEqualTo(victim.getBucketIndex());
        assertThat(letters.get(0).getChunkIndex()).isEqualTo(victim.getChunkIndex());
        assertThat(letters.get(0).getPartition()).isZero();
        assertThat(letters).allSatisfy(letter -> assertThat(letter.getPublishId()).isEqualTo(bad.publishId()));
        List<WeightEvent> events = harness.extractOutputValues();
        assertThat(events).filteredOn(e -> e.kind() == WeightEvent.Kind.ABORT_VERSION)
                .singleElement()
                .satisfies(abort -> assertThat(abort.publishId()).isEqualTo(bad.publishId()));
        assertThat(events).filteredOn(e -> e.kind() == WeightEvent.Kind.COMMIT_VERSION)
                .singleElement()
                .satisfies(commit -> {
                    assertThat(commit.publishId()).isEqualTo(good.publishId());
                    assertThat(commit.version()).isEqualTo(1);
                });
        assertThat(jobStatuses()).extracting(WorkerStatus::getState)
                .containsExactly(VersionState.FAILED, VersionState.COMPLETED);
    }

    @Test
    void chunkCutAtAnotherSizeThanItsPublishsEarlierChunksFailsThePublishBeforeItsManifestArrives()
            throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 4, 6, 3000, 8 * 1024, 1000);
        List<WeightChunk> chunks = version.chunks();
        WeightChunk third = chunks.stream().filter(c -> c.getChunkIndex() == 3).findFirst().orElseThrow();
        // Same payload and CRC32C, moved 500 bytes down: its bucket's digest would fail only at the sink.
        WeightChunk misplaced = WeightChunk.newBuilder(third).setChunkOffset(third.getChunkOffset() - 500).build();

        sendChunks(chunks.subList(0, 2));
        send(InputRecord.Kind.CHUNK, MODEL, WireCodec.CHUNK.encode(misplaced));

        assertThat(deadLetters()).singleElement().satisfies(letter -> {
            // Its own offset and index already imply another chunk size: its checker refuses it.
            assertThat(letter.getReason()).contains("chunk 3 of 8 of bucket 0 has 1000 bytes at offset 2500")
                    .contains("expected 833 bytes at offset 2499");
            assertThat(letter.getChunkIndex()).isEqualTo(3);
        });
        assertThat(jobStatuses()).extracting(WorkerStatus::getState).containsExactly(VersionState.FAILED);
        assertThat(harness.extractOutputValues()).filteredOn(e -> e.kind() == WeightEvent.Kind.ABORT_VERSION)
                .singleElement();
    }

    @Test
    void firstChunkOfAPublishIsCheckedAgainstTheChunkSizeItImpliesAndTheManifestAgainstItsChunks()
            throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 4, 6, 3000, 8 * 1024, 1000);
        WeightChunk third = version.chunks().stream().filter(c -> c.getChunkIndex() == 3).findFirst().orElseThrow();
        WeightChunk misplaced = WeightChunk.newBuilder(third).setChunkOffset(2500).build();
        send(InputRecord.Kind.CHUNK, MODEL, WireCodec.CHUNK.encode(misplaced));
        assertThat(deadLetters()).singleElement().satisfies(letter -> assertThat(letter.getReason())
                .contains("the chunk size the chunk itself implies, 833"));

        // Chunks cut at 1000 bytes, then a manifest consistent in itself that says 2000: it is refused.
        RandomPublish other = RandomPublish.create(MODEL, 11, 5, 6, 3000, 8 * 1024, 1000);
        sendChunks(other.chunks().subList(0, 3));
        List<BucketInfo> recut = other.manifest().getBuckets().stream()
                .map(b -> BucketInfo.newBuilder(b).setChunkCount((int) Math.max(1, (b.getSizeBytes() + 1999) / 2000))
                        .build())
                .collect(Collectors.toList());
        VersionManifest lying = VersionManifest.newBuilder(other.manifest()).setChunkSize(2000).setBuckets(recut)
                .build();
        send(InputRecord.Kind.MANIFEST, MODEL, WireCodec.MANIFEST.encode(lying));
        assertThat(deadLetters()).filteredOn(letter -> letter.getPublishId().equals(other.publishId()))
                .singleElement().satisfies(letter -> assertThat(letter.getReason())
                        .contains("manifest says chunk size 2000; its chunks were cut at 1000"));
        assertThat(jobStatuses()).filteredOn(s -> s.getPublishId().equals(other.publishId()))
                .extracting(WorkerStatus::getState).containsExactly(VersionState.FAILED);
    }

    @Test
    void undecodableRecordIsQuarantinedWithItsCoordinates() throws Exception {
        byte[] garbage = "not an avro record".getBytes(StandardCharsets.UTF_8);
        send(InputRecord.Kind.CHUNK, MODEL, garbage);

        assertThat(deadLetters()).singleElement().satisfies(letter -> {
            assertThat(letter.getReason()).contains("does not decode").contains("BAD_MARKER");
            assertThat(letter.getTopic()).isEqualTo(TOPICS.chunks());
            assertThat(letter.getOffset()).isEqualTo(nextOffset - 1);
            assertThat(letter.getRaw().array()).isEqualTo(garbage);
        });
        assertThat(harness.extractOutputValues()).isEmpty();
    }

    @Test
    void publishMissingAChunkIsAbortedAfterTheTimeoutAndNeverCommitted() throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 6, 6, 3000, 8 * 1024, 1000);
        harness.setProcessingTime(1_000);
        sendChunks(version.chunks().subList(1, version.chunks().size()));
        sendManifest(version);

        harness.setProcessingTime(1_000 + TIMEOUT_MS / 2);
        assertThat(jobStatuses()).isEmpty();
        harness.setProcessingTime(1_000 + TIMEOUT_MS + 1);

        List<WeightEvent> events = harness.extractOutputValues();
        assertThat(events.get(events.size() - 1).kind()).isEqualTo(WeightEvent.Kind.ABORT_VERSION);
        assertThat(events).noneMatch(e -> e.kind() == WeightEvent.Kind.COMMIT_VERSION);
        assertThat(jobStatuses()).singleElement().satisfies(status -> {
            assertThat(status.getState()).isEqualTo(VersionState.ABORTED);
            assertThat(status.getMessage()).contains("timed out");
        });
    }

    @Test
    void republishOfAnAppliedStepIsRejectedWithAStatusRecord() throws Exception {
        RandomPublish first = RandomPublish.create(MODEL, 10, 7, 4, 2000, 8 * 1024, 1000);
        RandomPublish again = RandomPublish.create(MODEL, 10, 8, 4, 2000, 8 * 1024, 1000);
        sendChunks(first.chunks());
        sendManifest(first);
        sendChunks(again.chunks());
        sendManifest(again);

        assertThat(harness.extractOutputValues()).filteredOn(e -> e.kind() == WeightEvent.Kind.COMMIT_VERSION)
                .hasSize(1);
        assertThat(jobStatuses()).extracting(WorkerStatus::getState)
                .containsExactly(VersionState.COMPLETED, VersionState.REJECTED);
        assertThat(jobStatuses().get(1).getMessage()).contains("stale publish");
    }

    @Test
    void modelsInterleaveAndEachCountsItsOwnVersions() throws Exception {
        RandomPublish a = RandomPublish.create("model-a", 1, 9, 4, 2000, 8 * 1024, 500);
        RandomPublish b = RandomPublish.create("model-b", 1, 10, 4, 2000, 8 * 1024, 500);
        List<WeightChunk> interleaved = new ArrayList<>();
        for (int i = 0; i < Math.max(a.chunks().size(), b.chunks().size()); i++) {
            if (i < a.chunks().size()) {
                interleaved.add(a.chunks().get(i));
            }
            if (i < b.chunks().size()) {
                interleaved.add(b.chunks().get(i));
            }
        }
        sendChunks(interleaved);
        sendManifest(b);
        sendManifest(a);

        List<WeightEvent> commits = harness.extractOutputValues().stream()
                .filter(e -> e.kind() == WeightEvent.Kind.COMMIT_VERSION)
                .collect(Collectors.toList());
        assertThat(commits).extracting(WeightEvent::modelId).containsExactly("model-b", "model-a");
        assertThat(commits).extracting(WeightEvent::version).containsExactly(1L, 1L);
    }

    @Test
    void restoredFromACheckpointMidPublishItCompletesWithoutResendingStagedChunks() throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 11, 10, 4000, 8 * 1024, 1000);
        int half = version.chunks().size() / 2;
        sendChunks(version.chunks().subList(0, half));
        OperatorSubtaskState snapshot = harness.snapshot(1, 1);
        harness.close();

        harness = newHarness();
        harness.initializeState(snapshot);
        harness.open();
        // The source rewinds to the checkpoint: only chunks after it come again.
        sendChunks(version.chunks().subList(half, version.chunks().size()));
        sendManifest(version);

        List<WeightEvent> events = harness.extractOutputValues();
        assertThat(events).filteredOn(e -> e.kind() == WeightEvent.Kind.STAGE_CHUNK)
                .hasSize(version.chunks().size() - half);
        assertThat(events.get(events.size() - 1).kind()).isEqualTo(WeightEvent.Kind.COMMIT_VERSION);
        assertThat(events.get(events.size() - 1).version()).isEqualTo(1);
    }

    @Test
    void checkpointedStatePerInFlightPublishIsATinyFractionOfItsPayload() throws Exception {
        RandomPublish version = RandomPublish.create(MODEL, 10, 12, 64, 64 * 1024, 1 << 20, 4096);
        sendChunks(version.chunks().subList(0, version.chunks().size() - 1));
        sendManifest(version);

        OperatorSubtaskState snapshot = harness.snapshot(1, 1);
        long stateBytes = snapshot.getStateSize();
        assertThat(stateBytes).isPositive();
        assertThat((double) stateBytes / version.totalBytes()).isLessThan(0.01);
    }

    @Test
    void rollbackMakesARetainedVersionCurrentAgainAsANewVersion() throws Exception {
        RandomPublish v1 = RandomPublish.create(MODEL, 10, 13, 4, 2000, 8 * 1024, 1000);
        RandomPublish v2 = RandomPublish.create(MODEL, 11, 14, 4, 2000, 8 * 1024, 1000);
        sendChunks(v1.chunks());
        sendManifest(v1);
        sendChunks(v2.chunks());
        sendManifest(v2);

        sendControl(ControlRecord.newBuilder().setModelId(MODEL).setAction(ControlAction.ROLLBACK)
                .setTargetVersion(1L).setRequestId("r-1").setReason("bad eval").setRequestedAtMs(0).build());
        sendControl(ControlRecord.newBuilder().setModelId(MODEL).setAction(ControlAction.ROLLBACK)
                .setTargetVersion(99L).setRequestId("r-2").setRequestedAtMs(0).build());

        List<WeightEvent> commits = harness.extractOutputValues().stream()
                .filter(e -> e.kind() == WeightEvent.Kind.COMMIT_VERSION)
                .collect(Collectors.toList());
        assertThat(commits).extracting(WeightEvent::version).containsExactly(1L, 2L, 3L);
        WeightEvent rollback = commits.get(2);
        assertThat(rollback.contentVersion()).isEqualTo(1);
        assertThat(rollback.publishId()).isEqualTo(v1.publishId());
        assertThat(rollback.reason()).contains("rollback to version 1").contains("r-1");
        List<WorkerStatus> statuses = jobStatuses();
        assertThat(statuses.get(statuses.size() - 1).getState()).isEqualTo(VersionState.FAILED);
        assertThat(statuses.get(statuses.size() - 1).getMessage()).contains("version 99");
        assertThat(index()).extracting(VersionIndexEntry::getContentVersion).containsExactly(1L, 2L, 1L);
    }

    // ---------------------------------------------------------------- helpers

    private static PipelineHarness newHarness()
            throws Exception {
        return new PipelineHarness(TOPICS, TIMEOUT_MS, 8, 1024);
    }

    private void sendChunks(List<WeightChunk> chunks) throws Exception {
        for (WeightChunk chunk : chunks) {
            send(InputRecord.Kind.CHUNK, chunk.getModelId(), WireCodec.CHUNK.encode(chunk));
        }
    }

    private void sendManifest(RandomPublish version) throws Exception {
        send(InputRecord.Kind.MANIFEST, version.modelId(), WireCodec.MANIFEST.encode(version.manifest()));
    }

    private void sendControl(ControlRecord control) throws Exception {
        send(InputRecord.Kind.CONTROL, control.getModelId(), WireCodec.CONTROL.encode(control));
    }

    private void send(InputRecord.Kind kind, String model, byte[] value) throws Exception {
        String topic = kind == InputRecord.Kind.CHUNK
                ? TOPICS.chunks()
                : kind == InputRecord.Kind.MANIFEST ? TOPICS.manifests() : TOPICS.control();
        harness.processElement(new StreamRecord<>(new InputRecord(kind, topic, 0, nextOffset++, 0, model, value)));
    }

    private static byte[] reassemble(List<WeightEvent> events) {
        WeightEvent any = events.stream().filter(e -> e.kind() == WeightEvent.Kind.STAGE_CHUNK).findFirst()
                .orElseThrow();
        byte[] bytes = new byte[Math.toIntExact(any.versionBytes())];
        for (WeightEvent event : events) {
            if (event.kind() == WeightEvent.Kind.STAGE_CHUNK) {
                System.arraycopy(event.payload(), event.payloadOffset(), bytes,
                        Math.toIntExact(event.versionOffset()), event.payloadLength());
            }
        }
        return bytes;
    }

    private List<Tuple3<String, byte[], byte[]>> outbound(String topic) {
        List<Tuple3<String, byte[], byte[]>> records = new ArrayList<>();
        if (harness.getSideOutput() != null) {
            for (StreamRecord<Tuple3<String, byte[], byte[]>> record : harness.getSideOutput()) {
                if (record.getValue().f0.equals(topic)) {
                    records.add(record.getValue());
                }
            }
        }
        return records;
    }

    private List<WorkerStatus> jobStatuses() throws Exception {
        return decoded(TOPICS.status(), WireCodec.STATUS);
    }

    private List<DeadLetter> deadLetters() throws Exception {
        return decoded(TOPICS.deadLetters(), WireCodec.DEAD_LETTER);
    }

    private List<VersionIndexEntry> index() throws Exception {
        return decoded(TOPICS.versions(), WireCodec.VERSION_INDEX);
    }

    private <T extends SpecificRecord> List<T> decoded(String topic, WireCodec<T> codec) throws Exception {
        List<T> values = new ArrayList<>();
        for (Tuple3<String, byte[], byte[]> record : outbound(topic)) {
            values.add(codec.decode(record.f2));
        }
        return values;
    }
}
