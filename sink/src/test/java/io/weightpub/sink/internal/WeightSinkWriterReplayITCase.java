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
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.testutils.KafkaClusterExtension;
import io.weightpub.testutils.KafkaVersions;
import io.weightpub.testutils.TestVersion;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sink writer on its own (no Flink runtime) against a real Kafka: rollbacks by resident flip
 * and by replay, a rollback target deleted by retention, and a restore that lost the store.
 */
class WeightSinkWriterReplayITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    private static final String MODEL = "llm";
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
    void rollbackToARetiredResidentVersionIsAFlipThatNeedsNothingFromKafka(TestInfo test) throws Exception {
        Setup s = setup(test, CommitMode.IMMEDIATE);
        KafkaVersions.Published v1 = s.publishAndCommit(1);
        s.publishAndCommit(2);
        // The bytes are gone from Kafka: a resident flip must not need them.
        deleteAllBefore(s.topic, Long.MAX_VALUE);

        s.writer.write(v1.commit(3, 1), null);

        assertActive(s.store(), 3, 1, v1.version());
        WorkerStatus committed = s.lastStatus(VersionState.COMMITTED);
        assertThat(committed.getVersion()).isEqualTo(3);
        assertThat(committed.getContentVersion()).isEqualTo(1);
        assertThat(committed.getMessage()).contains("rollback to version 1 (resident flip)").doesNotContain("replayed");
    }

    @Test
    void rollbackToAVersionWhoseSlotWasReusedIsReplayedFromKafkaBitExact(TestInfo test) throws Exception {
        Setup s = setup(test, CommitMode.IMMEDIATE);
        KafkaVersions.Published v1 = s.publishAndCommit(1);
        s.publishAndCommit(2);
        s.publishAndCommit(3);

        s.writer.write(v1.commit(4, 1), null);

        assertActive(s.store(), 4, 1, v1.version());
        assertThat(s.lastStatus(VersionState.COMMITTED).getMessage())
                .contains("rollback to version 1 (replayed " + v1.version().size() + " bytes from Kafka in");
    }

    @Test
    void rollbackToAVersionDeletedByRetentionFailsNamingTheOffsetsAndChangesNothing(TestInfo test) throws Exception {
        Setup s = setup(test, CommitMode.IMMEDIATE);
        KafkaVersions.Published v1 = s.publishAndCommit(1);
        s.publishAndCommit(2);
        KafkaVersions.Published v3 = s.publishAndCommit(3);
        deleteAllBefore(s.topic, v1.ranges().get(0).getLastOffset());

        s.writer.write(v1.commit(4, 1), null);

        assertActive(s.store(), 3, 3, v3.version());
        assertThat(s.store().status(MODEL).staged()).isEmpty();
        WorkerStatus failed = s.lastStatus(VersionState.FAILED);
        assertThat(failed.getVersion()).isEqualTo(4);
        assertThat(failed.getMessage()).contains("rollback to version 1 failed, nothing changed on worker 0")
                .contains(s.topic + "-0 offsets").contains("were deleted (retention");
    }

    @Test
    void restoreThatLostTheStoreReplaysTheCommittedVersionFirstThenTheInFlightChunks(TestInfo test)
            throws Exception {
        Setup s = setup(test, CommitMode.IMMEDIATE);
        KafkaVersions.Published v1 = s.publishAndCommit(1);
        KafkaVersions.Published v2 = s.versions.publish(TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES),
                BUCKET_BYTES, CHUNK_BYTES);
        int half = v2.chunks().size() / 2;
        for (WeightEvent chunk : v2.chunks().subList(0, half)) {
            s.writer.write(chunk, null);
        }
        List<WriterState> state = s.writer.snapshotState(7);
        s.writer.close();
        WeightSink.release(s.sink.name()); // the worker's process is gone with its memory

        WeightSinkWriter restored = new WeightSinkWriter(s.sink.workerSettings(), 0, OptionalLong.of(7), state,
                UnregisteredMetricsGroup.createSinkWriterMetricGroup());

        assertActive(s.store(), 1, 1, v1.version());
        assertThat(s.store().status(MODEL).staged()).singleElement()
                .satisfies(p -> assertThat(p.bytesWritten()).isEqualTo((long) half * CHUNK_BYTES));
        assertThat(s.lastStatus(VersionState.COMMITTED).getMessage()).contains("restored after the restore from "
                + "checkpoint 7 (the worker's store was lost): replayed " + v1.version().size() + " bytes");
        for (WeightEvent chunk : v2.chunks().subList(half, v2.chunks().size())) {
            restored.write(chunk, null);
        }
        restored.write(v2.commit(2, 2), null);
        assertActive(s.store(), 2, 2, v2.version());
    }

    @Test
    void restoreUnderABudgetTooSmallForTheCommittedAndInFlightVersionsReportsThemFailedAndTheNextThatFitsApplies(
            TestInfo test) throws Exception {
        Setup s = setup(test, CommitMode.IMMEDIATE);
        s.publishAndCommit(1);
        KafkaVersions.Published v2 = s.versions.publish(TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES),
                BUCKET_BYTES, CHUNK_BYTES);
        int half = v2.chunks().size() / 2;
        for (WeightEvent chunk : v2.chunks().subList(0, half)) {
            s.writer.write(chunk, null);
        }
        List<WriterState> state = s.writer.snapshotState(7);
        s.writer.close();
        // The worker comes back with a smaller model budget: at most 128 KiB a version, below v1 and v2.
        WeightSink smaller = WeightSink.builder().name(s.sink.name()).backend(StoreBackend.HOST)
                .commitMode(CommitMode.IMMEDIATE).statusTopic(s.sink.name() + ".status", KAFKA.bootstrapServers())
                .chunksTopic(s.topic).memoryBudget(256 * 1024, WeightStoreConfig.DERIVED_BUDGET,
                        WeightStoreConfig.DEFAULT_MEMORY_FRACTION)
                .build();

        WeightSinkWriter restored = new WeightSinkWriter(smaller.workerSettings(), 0, "another-job", OptionalLong.of(7), state,
                UnregisteredMetricsGroup.createSinkWriterMetricGroup());
        Setup r = new Setup(smaller, s.topic, s.versions, restored);

        assertThat(r.store().status(MODEL).active()).isEmpty();
        assertThat(r.store().status(MODEL).staged()).isEmpty();
        for (WeightEvent chunk : v2.chunks().subList(half, v2.chunks().size())) {
            restored.write(chunk, null);
        }
        restored.write(v2.commit(2, 2), null);
        assertThat(r.lastStatus(VersionState.FAILED).getMessage())
                .contains("version 2 cannot commit on worker 0", "could not be re-read from Kafka", "memory budget");
        KafkaVersions.Published v3 = r.versions.publish(TestVersion.of(MODEL, 3, 2, 32 * 1024), 32 * 1024,
                CHUNK_BYTES);
        v3.chunks().forEach(chunk -> restored.write(chunk, null));
        restored.write(v3.commit(3, 3), null);
        assertActive(r.store(), 3, 3, v3.version());
    }

    private static void assertActive(WeightStore store, long version, long contentVersion, TestVersion content) {
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(lease.info().version()).isEqualTo(version);
            assertThat(lease.info().contentVersion()).isEqualTo(contentVersion);
            assertThat(lease.info().publishId()).isEqualTo(content.publishId());
            byte[] bytes = new byte[(int) lease.info().sizeBytes()];
            lease.read(0, bytes, 0, bytes.length);
            assertThat(bytes).isEqualTo(content.bytes());
        }
    }

    private static void deleteAllBefore(String topic, long offset) throws Exception {
        try (Admin admin = Admin.create(KAFKA.kafka().adminProperties())) {
            Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
            for (int p = 0; p < PARTITIONS; p++) {
                TopicPartition tp = new TopicPartition(topic, p);
                long end = admin.listOffsets(Map.of(tp, OffsetSpec.latest()))
                        .partitionResult(tp).get().offset();
                delete.put(tp, RecordsToDelete.beforeOffset(Math.min(offset, end)));
            }
            admin.deleteRecords(delete).all().get();
        }
    }

    private Setup setup(TestInfo test, CommitMode mode) {
        String name = "wr-" + test.getTestMethod().orElseThrow().getName().substring(0, 24).toLowerCase();
        String topic = name + ".chunks";
        KAFKA.createTopic(topic, PARTITIONS, Map.of());
        KAFKA.createTopic(name + ".status", 1, Map.of());
        sinks.add(name);
        WeightSink sink = WeightSink.builder()
                .name(name)
                .backend(StoreBackend.HOST)
                .commitMode(mode)
                .statusTopic(name + ".status", KAFKA.bootstrapServers())
                .chunksTopic(topic)
                .build();
        KafkaVersions versions = new KafkaVersions(KAFKA.bootstrapServers(), topic, PARTITIONS);
        closeables.add(versions);
        return new Setup(sink, topic, versions, new WeightSinkWriter(sink.workerSettings(), 0, OptionalLong.empty(), List.of(),
                UnregisteredMetricsGroup.createSinkWriterMetricGroup()));
    }

    private record Setup(WeightSink sink, String topic, KafkaVersions versions, WeightSinkWriter writer) {

        WeightStore store() {
            return WeightSink.store(sink.name(), 0).orElseThrow();
        }

        KafkaVersions.Published publishAndCommit(long version) {
            KafkaVersions.Published published = versions.publish(TestVersion.of(MODEL, version, BUCKETS, BUCKET_BYTES),
                    BUCKET_BYTES, CHUNK_BYTES);
            published.chunks().forEach(chunk -> writer.write(chunk, null));
            writer.write(published.commit(version, version), null);
            return published;
        }

        /** The latest status record of {@code state} the worker wrote. */
        WorkerStatus lastStatus(VersionState state) throws Exception {
            // Status records are sent asynchronously: flush them first.
            WorkerRegistry.get(sink.name(), 0).orElseThrow().reporter().flush();
            Properties props = new Properties();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
            WorkerStatus last = null;
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
                            last = status;
                        }
                    }
                }
            }
            assertThat(last).as("a %s status record", state).isNotNull();
            return last;
        }
    }
}
