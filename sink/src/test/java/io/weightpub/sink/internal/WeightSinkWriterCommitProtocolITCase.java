package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.sink.CommitMode;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.ActiveVersion;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.testutils.KafkaClusterExtension;
import io.weightpub.testutils.KafkaVersions;
import io.weightpub.testutils.TestVersion;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * The sink writer's commit protocol with committables that wait for their checkpoint
 * ({@link CommitMode#ON_CHECKPOINT}) and few slots, on a real Kafka: what is in flight must never
 * change what a version number means, which content a rollback ends on, or whether a commit is
 * applied. The test plays Flink's part: {@link #barrier} is prepareCommit plus snapshotState,
 * {@link #complete} is the committer on a completed checkpoint.
 */
class WeightSinkWriterCommitProtocolITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    private static final String MODEL = "org/llm";
    private static final int BUCKETS = 4;
    private static final int BUCKET_BYTES = 64 * 1024;
    private static final int CHUNK_BYTES = 16 * 1024;
    private static final int PARTITIONS = 3;

    private final List<String> sinks = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void release() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
        sinks.forEach(WeightSink::release);
    }

    @Test
    void rollbackToTheActiveVersionWhileANewerOneWaitsForItsCheckpointEndsOnTheRollbackTarget(TestInfo test)
            throws Exception {
        Setup s = setup(test, 2, 0);
        KafkaVersions.Published v1 = s.publish(1);
        s.stageAndCommit(v1, 1, 1);
        s.complete(s.barrier(1));
        KafkaVersions.Published v2 = s.publish(2);
        s.stageAndCommit(v2, 2, 2);
        Collection<FlipCommittable> withV2 = s.barrier(2);

        s.write(v1.commit(3, 1)); // the operator rolls back to version 1 while version 2 waits
        s.complete(withV2);
        Collection<FlipCommittable> withRollback = s.barrier(3);
        s.complete(withRollback);

        s.assertActiveOnEveryWorker(3, 1, v1.version());
        assertThat(s.statuses(VersionState.FAILED)).isEmpty();
    }

    @Test
    void rollbackToAVersionTheCommitterFlippedSinceTheLastBarrierRelabelsItWithoutAnException(TestInfo test)
            throws Exception {
        Setup s = setup(test, 2, 0);
        KafkaVersions.Published v1 = s.publish(1);
        s.stageAndCommit(v1, 1, 1);
        s.complete(s.barrier(1));
        KafkaVersions.Published v2 = s.publish(2);
        s.stageAndCommit(v2, 2, 2);
        s.complete(s.writers.get(0).prepareCommit()); // flipped; no snapshot since

        assertThatCode(() -> s.write(v2.commit(3, 2))).doesNotThrowAnyException();
        s.complete(s.barrier(3));

        s.assertActiveOnEveryWorker(3, 2, v2.version());
        assertThat(s.statuses(VersionState.FAILED)).isEmpty();
    }

    @Test
    void aPublishNeedingTheSlotOfOneWaitingForItsCheckpointFlipsNothingAndIsReplayedAtItsCommit(TestInfo test)
            throws Exception {
        Setup s = setup(test, 2, 0);
        KafkaVersions.Published v1 = s.publish(1);
        s.stageAndCommit(v1, 1, 1);
        s.complete(s.barrier(1));
        KafkaVersions.Published v2 = s.publish(2);
        s.stageAndCommit(v2, 2, 2);
        Collection<FlipCommittable> withV2 = s.barrier(2);

        KafkaVersions.Published v3 = s.publish(3);
        v3.chunks().forEach(s::write);

        s.assertActiveOnEveryWorker(1, 1, v1.version()); // checkpoint 2 has not completed
        s.write(v3.commit(3, 3));
        s.complete(withV2);
        s.assertActiveOnEveryWorker(2, 2, v2.version());
        s.complete(s.barrier(3));
        s.assertActiveOnEveryWorker(3, 3, v3.version());
        assertThat(s.statuses(VersionState.COMMITTED)).filteredOn(st -> st.getVersion() == 3).hasSize(2)
                .allSatisfy(st -> assertThat(st.getMessage().toString()).contains("deferred", "replayed"));
    }

    @Test
    void aDeferredPublishStagesTheRestOnceASlotFreesAndReReadsOnlyWhatItMissed(TestInfo test) throws Exception {
        Setup s = setup(test, 2, 0);
        KafkaVersions.Published v1 = s.publish(1);
        s.stageAndCommit(v1, 1, 1);
        s.complete(s.barrier(1));
        KafkaVersions.Published v2 = s.publish(2);
        s.stageAndCommit(v2, 2, 2);
        Collection<FlipCommittable> withV2 = s.barrier(2);
        KafkaVersions.Published v3 = s.publish(3);
        int third = v3.chunks().size() / 3;

        v3.chunks().subList(0, third).forEach(s::write); // no slot: version 2 waits for checkpoint 2
        s.complete(withV2);
        v3.chunks().subList(third, v3.chunks().size()).forEach(s::write);
        s.write(v3.commit(3, 3));
        s.complete(s.barrier(3));

        s.assertActiveOnEveryWorker(3, 3, v3.version());
        assertThat(s.statuses(VersionState.STAGED)).filteredOn(st -> st.getPublishId().toString()
                .equals(v3.version().publishId())).extracting(st -> st.getMessage().toString())
                .anySatisfy(m -> assertThat(m).contains("deferred"))
                .anySatisfy(m -> assertThat(m).contains("a slot is free now", third + " chunk(s)"));
        assertThat(s.statuses(VersionState.FAILED)).isEmpty();
    }

    @Test
    void aCommitHeldForAFreeSlotIsInTheCheckpointAndAppliedAfterARestore(TestInfo test) throws Exception {
        Setup s = setup(test, 2, 0);
        KafkaVersions.Published v1 = s.publish(1);
        s.stageAndCommit(v1, 1, 1);
        s.complete(s.barrier(1));
        KafkaVersions.Published v2 = s.publish(2);
        s.stageAndCommit(v2, 2, 2);
        Collection<FlipCommittable> withV2 = s.barrier(2);
        KafkaVersions.Published v3 = s.publish(3);
        s.stageAndCommit(v3, 3, 3); // deferred, then held: version 2 holds the only shadow slot
        assertThat(s.barrier(3)).isEmpty();
        List<List<WriterState>> checkpoint3 = s.states;
        s.complete(withV2);

        // The job restores checkpoint 3 (after checkpoint 2 completed); worker 1 lost its store.
        s.restore(checkpoint3, 3, 1);
        s.complete(s.barrier(4));

        s.assertActiveOnEveryWorker(3, 3, v3.version());
        assertThat(s.statuses(VersionState.FAILED)).isEmpty();
    }

    @Test
    void aVersionNumberNamesOneContentOnEveryWorkerAfterARestoreFromTheCheckpointBeforeItsCommit(TestInfo test)
            throws Exception {
        Setup s = setup(test, 2, 0);
        KafkaVersions.Published v1 = s.publish(1);
        s.stageAndCommit(v1, 1, 1);
        Collection<FlipCommittable> withV1 = s.barrier(1);
        List<List<WriterState>> checkpoint1 = s.states;
        s.complete(withV1);
        KafkaVersions.Published v2 = s.publish(2);
        s.stageAndCommit(v2, 2, 2);
        s.barrier(2); // checkpoint 2 carries version 2's committable but never completes
        s.publish(3).chunks().forEach(s::write);

        // The job fails and restores checkpoint 1: worker 0 survives, worker 1 lost its store. The re-run
        // gives version number 2 to other content (publish 2 timed out, say).
        s.restore(checkpoint1, 1, 1);
        KafkaVersions.Published other = s.publish(22);
        s.stageAndCommit(other, 2, 2);
        s.complete(s.barrier(2));

        s.assertActiveOnEveryWorker(2, 2, other.version());
    }

    @Test
    void aCommittedVersionWhoseSlotAnOverlappingPublishTookIsReplayedNotSilentlyDropped(TestInfo test)
            throws Exception {
        Setup s = setup(test, 2, 0);
        KafkaVersions.Published v1 = s.publish(1);
        s.stageAndCommit(v1, 1, 1);
        s.complete(s.barrier(1));
        KafkaVersions.Published v2 = s.publish(2);
        KafkaVersions.Published v3 = s.publish(3);
        int half = v2.chunks().size() / 2;
        v2.chunks().subList(0, half).forEach(s::write);
        v3.chunks().forEach(s::write); // takes the slot of version 2, still staging
        v2.chunks().subList(half, v2.chunks().size()).forEach(s::write);

        s.write(v2.commit(2, 2));
        s.complete(s.barrier(2));

        s.assertActiveOnEveryWorker(2, 2, v2.version());
        s.write(v3.commit(3, 3));
        s.complete(s.barrier(3));
        s.assertActiveOnEveryWorker(3, 3, v3.version());
        assertThat(s.statuses(VersionState.FAILED)).isEmpty();
    }

    @Test
    void aCommitStillMissingChunksAtTheBarrierReReadsThemFromKafkaAndLateCopiesAreIgnored(TestInfo test)
            throws Exception {
        Setup s = setup(test, 2, 0);
        KafkaVersions.Published v1 = s.publish(1);
        List<WeightEvent> chunks = v1.chunks();
        int half = chunks.size() / 2;

        chunks.subList(0, half).forEach(s::write);
        s.write(v1.commit(1, 1)); // held: the rest of its chunks are still on their way from other checkers
        assertThat(s.store(0).status(MODEL).active()).isEmpty();
        // At the barrier nothing more comes through the job (aligned checkpoints): the rest is re-read from Kafka.
        Collection<FlipCommittable> committables = s.barrier(1);
        assertThat(committables).hasSize(2);
        s.complete(committables);
        s.assertActiveOnEveryWorker(1, 1, v1.version());

        chunks.subList(half, chunks.size()).forEach(s::write);
        for (int worker = 0; worker < 2; worker++) {
            assertThat(s.store(worker).status(MODEL).staged()).isEmpty();
        }
        s.assertActiveOnEveryWorker(1, 1, v1.version());
        assertThat(s.statuses(VersionState.FAILED)).isEmpty();
    }

    static void assertActive(WeightStore store, long version, long contentVersion, TestVersion content) {
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(lease.info().version()).as("active version").isEqualTo(version);
            assertThat(lease.info().contentVersion()).as("content version").isEqualTo(contentVersion);
            assertThat(lease.info().publishId()).as("publish").isEqualTo(content.publishId());
            byte[] bytes = new byte[(int) lease.info().sizeBytes()];
            lease.read(0, bytes, 0, bytes.length);
            assertThat(bytes).isEqualTo(content.bytes());
        }
    }

    private Setup setup(TestInfo test, int workers, int residentVersions) {
        String name = "cp-" + Integer.toHexString(test.getDisplayName().hashCode());
        String topic = name + ".chunks";
        KAFKA.createTopic(topic, PARTITIONS, Map.of());
        KAFKA.createTopic(name + ".status", 1, Map.of());
        sinks.add(name);
        WeightSink sink = WeightSink.builder()
                .name(name)
                .backend(StoreBackend.HOST)
                .commitMode(CommitMode.ON_CHECKPOINT)
                .slotsPerModel(2)
                .residentVersions(residentVersions)
                .statusTopic(name + ".status", KAFKA.bootstrapServers())
                .chunksTopic(topic)
                .build();
        KafkaVersions versions = new KafkaVersions(KAFKA.bootstrapServers(), topic, PARTITIONS);
        closeables.add(versions);
        Setup s = new Setup(sink, versions, workers);
        for (int worker = 0; worker < workers; worker++) {
            s.writers.add(new WeightSinkWriter(sink.workerSettings(), worker, OptionalLong.empty(), List.of(),
                    UnregisteredMetricsGroup.createSinkWriterMetricGroup()));
        }
        return s;
    }

    private static final class Setup {
        final WeightSink sink;
        final KafkaVersions versions;
        final int workers;
        final List<WeightSinkWriter> writers = new ArrayList<>();
        /** Each worker's state at the latest barrier. */
        List<List<WriterState>> states = List.of();

        Setup(WeightSink sink, KafkaVersions versions, int workers) {
            this.sink = sink;
            this.versions = versions;
            this.workers = workers;
        }

        void assertActiveOnEveryWorker(long version, long contentVersion, TestVersion content) {
            for (int worker = 0; worker < workers; worker++) {
                assertActive(store(worker), version, contentVersion, content);
            }
        }

        WeightStore store(int worker) {
            return WeightSink.store(sink.name(), worker).orElseThrow();
        }

        KafkaVersions.Published publish(long step) {
            return versions.publish(TestVersion.of(MODEL, step, BUCKETS, BUCKET_BYTES), BUCKET_BYTES, CHUNK_BYTES);
        }

        void write(WeightEvent event) {
            writers.forEach(w -> w.write(event, null));
        }

        void stageAndCommit(KafkaVersions.Published published, long version, long contentVersion) {
            published.chunks().forEach(this::write);
            write(published.commit(version, contentVersion));
        }

        /** A checkpoint barrier at every worker: the committables it carries; keeps the states. */
        Collection<FlipCommittable> barrier(long checkpoint) {
            List<FlipCommittable> committables = new ArrayList<>();
            List<List<WriterState>> snapshots = new ArrayList<>();
            for (WeightSinkWriter writer : writers) {
                committables.addAll(writer.prepareCommit());
                snapshots.add(writer.snapshotState(checkpoint));
            }
            states = snapshots;
            return committables;
        }

        /** The checkpoint that carried {@code committables} completed: the committer flips them. */
        void complete(Collection<FlipCommittable> committables) {
            for (FlipCommittable c : committables) {
                Flips.flip(WorkerRegistry.get(sink.name(), c.worker()).orElseThrow(), c, "checkpoint completed");
            }
        }

        /** Restores every writer from {@code checkpoint}; the listed workers lost their store first. */
        void restore(List<List<WriterState>> checkpoint, long checkpointId, int... lostWorkers) {
            for (int lost : lostWorkers) {
                WorkerRegistry.release(sink.name(), lost);
            }
            writers.forEach(WeightSinkWriter::close);
            writers.clear();
            for (int worker = 0; worker < workers; worker++) {
                writers.add(new WeightSinkWriter(sink.workerSettings(), worker, OptionalLong.of(checkpointId), checkpoint.get(worker),
                        UnregisteredMetricsGroup.createSinkWriterMetricGroup()));
            }
        }

        /** Every status record of {@code state} the workers wrote. */
        List<WorkerStatus> statuses(VersionState state) throws Exception {
            for (int worker = 0; worker < workers; worker++) {
                WorkerRegistry.get(sink.name(), worker).orElseThrow().reporter().flush();
            }
            Properties props = new Properties();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
            List<WorkerStatus> out = new ArrayList<>();
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                    new ByteArrayDeserializer())) {
                TopicPartition tp = new TopicPartition(sink.name() + ".status", 0);
                consumer.assign(List.of(tp));
                consumer.seekToBeginning(List.of(tp));
                long end = consumer.endOffsets(List.of(tp)).get(tp);
                while (consumer.position(tp) < end) {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                        WorkerStatus status = WireCodec.STATUS.decode(record.value());
                        if (status.getState() == state) {
                            out.add(status);
                        }
                    }
                }
            }
            return out;
        }
    }
}
