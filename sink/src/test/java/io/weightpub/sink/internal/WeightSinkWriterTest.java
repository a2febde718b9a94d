package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.sink.CommitMode;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.ActiveVersion;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.testutils.TestVersion;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.security.MessageDigest;
import java.util.Collection;
import java.util.List;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The writer's hot path on a host store, built from explicit settings: no {@link WeightSink}, no
 * Kafka, no Flink runtime.
 */
class WeightSinkWriterTest {

    private static final String SINK = "writer-test";
    private static final String MODEL = "org/llm";
    private static final int CHUNK = 16 * 1024;

    @AfterEach
    void release() {
        WeightSink.release(SINK);
    }

    @Test
    void aCommitOnCheckpointIsOneCommittableAtTheBarrierAndNothingFlipsBefore() {
        WeightSinkWriter writer = writer(CommitMode.ON_CHECKPOINT);
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, 64 * 1024);

        v1.events(CHUNK).forEach(e -> writer.write(e, null));

        assertThat(store().status(MODEL).active()).isEmpty();
        Collection<FlipCommittable> committables = writer.prepareCommit();
        assertThat(committables).singleElement().satisfies(c -> {
            assertThat(c.modelId()).isEqualTo(MODEL);
            assertThat(c.publishId()).isEqualTo(v1.publishId());
            assertThat(c.version()).isEqualTo(1);
            assertThat(c.versionBytes()).isEqualTo(v1.size());
        });
        assertThat(writer.prepareCommit()).isEmpty();
        assertThat(store().status(MODEL).active()).isEmpty();
    }

    @Test
    void anImmediateCommitFlipsTheVerifiedBytesAtOnce() throws Exception {
        WeightSinkWriter writer = writer(CommitMode.IMMEDIATE);
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, 64 * 1024);

        v1.events(CHUNK).forEach(e -> writer.write(e, null));

        try (ActiveVersion lease = store().acquire(MODEL).orElseThrow()) {
            assertThat(lease.info().version()).isEqualTo(1);
            byte[] bytes = new byte[v1.size()];
            lease.read(0, bytes, 0, bytes.length);
            assertThat(MessageDigest.getInstance("SHA-256").digest(bytes)).isEqualTo(v1.sha256());
        }
        assertThat(writer.prepareCommit()).isEmpty();
    }

    @Test
    void anAbortDropsTheStagedPublishAndItsLateChunksStageNothing() {
        WeightSinkWriter writer = writer(CommitMode.ON_CHECKPOINT);
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, 64 * 1024);
        writer.write(v1.chunk(0, CHUNK), null);
        assertThat(store().status(MODEL).staged()).hasSize(1);

        writer.write(WeightEvent.abortVersion(MODEL, v1.publishId(), v1.step(), "aborted by the test"), null);
        writer.write(v1.chunk(1, CHUNK), null);

        assertThat(store().status(MODEL).staged()).isEmpty();
        assertThat(writer.prepareCommit()).isEmpty();
    }

    @Test
    void theSnapshotNamesThePublishInFlightAndThenTheCommittedVersion() {
        WeightSinkWriter writer = writer(CommitMode.IMMEDIATE);
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, 64 * 1024);
        writer.write(v1.chunk(0, CHUNK), null);

        List<WriterState> staging = writer.snapshotState(1);
        assertThat(staging).singleElement().satisfies(s -> assertThat(s.models()).singleElement()
                .satisfies(m -> assertThat(m.inFlight()).extracting(WriterState.PublishState::publishId)
                        .containsExactly(v1.publishId())));

        for (int i = 1; i < v1.chunkCount(CHUNK); i++) {
            writer.write(v1.chunk(i, CHUNK), null);
        }
        writer.write(v1.commit(), null);

        List<WriterState> committed = writer.snapshotState(2);
        assertThat(committed).singleElement().satisfies(s -> assertThat(s.models()).singleElement().satisfies(m -> {
            assertThat(m.lastCommitted().version()).isEqualTo(1);
            assertThat(m.inFlight()).isEmpty();
        }));
    }

    private static WeightSinkWriter writer(CommitMode mode) {
        WorkerSettings settings = WorkerSettings.standalone(SINK, mode,
                WeightStoreConfig.builder().backend(StoreBackend.HOST).build());
        return new WeightSinkWriter(settings, 0, "job", OptionalLong.empty(), List.of(),
                UnregisteredMetricsGroup.createSinkWriterMetricGroup());
    }

    private static WeightStore store() {
        return WeightSink.store(SINK, 0).orElseThrow();
    }
}
