package io.weightpub.job;

import io.weightpub.job.testutils.OutputTopics;
import io.weightpub.job.testutils.RunningJob;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.job.testutils.TrainerTopics.SendPlan;
import io.weightpub.job.testutils.TrainerTopics;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.sink.SinkOptions;
import io.weightpub.store.ActiveVersion;
import io.weightpub.testutils.KafkaClusterExtension;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Rollbacks through the whole job on a MiniCluster and real Kafka: a rollback is a new version
 * carrying an older version's content, applied by a flip where the bytes are resident and by a
 * replay from Kafka where they are not; a target Kafka no longer has fails and changes nothing.
 */
class RollbackITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @RegisterExtension
    static final MiniClusterExtension FLINK = RunningJob.miniCluster(4);

    private static final long BUCKET = 64 * 1024;
    private static final int CHUNK = 8 * 1024;
    private static final int WORKERS = 2;

    @Test
    void rollbackToAResidentVersionIsAFlipAloneEvenWithItsChunksGoneFromKafka(TestInfo test) throws Exception {
        String prefix = prefix(test);
        Configuration conf = conf(prefix, 2, 1);
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(conf)) {
            RandomPublish v1 = version("llama", 1);
            publish(trainer, job, v1, 1);
            publish(trainer, job, version("llama", 2), 2);
            deleteChunks(trainer.topics());

            trainer.rollback("llama", 1);
            job.awaitVersionOnAllWorkers("llama", 3);

            assertServes(job, "llama", 3, 1, v1);
            assertThat(awaitWorkerStatuses(trainer, "llama", 3, VersionState.COMMITTED)).hasSize(WORKERS)
                    .allSatisfy(s -> assertThat(s.getMessage()).contains("rollback to version 1 (resident flip)"));
        }
    }

    @Test
    void rollbackToAVersionWhoseSlotWasReusedIsReplayedFromKafkaBitExact(TestInfo test) throws Exception {
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(conf(prefix, 2, 0))) {
            RandomPublish v1 = version("qwen", 1);
            publish(trainer, job, v1, 1);
            publish(trainer, job, version("qwen", 2), 2);
            publish(trainer, job, version("qwen", 3), 3);

            trainer.rollback("qwen", 1);
            job.awaitVersionOnAllWorkers("qwen", 4);

            assertServes(job, "qwen", 4, 1, v1);
            assertThat(awaitWorkerStatuses(trainer, "qwen", 4, VersionState.COMMITTED)).hasSize(WORKERS)
                    .allSatisfy(s -> assertThat(s.getMessage())
                            .contains("rollback to version 1 (replayed " + v1.totalBytes() + " bytes from Kafka"));
        }
    }

    @Test
    void rollbackToAVersionRetentionDeletedFailsOnEveryWorkerAndChangesNothing(TestInfo test) throws Exception {
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(conf(prefix, 2, 0))) {
            publish(trainer, job, version("phi", 1), 1);
            publish(trainer, job, version("phi", 2), 2);
            RandomPublish v3 = version("phi", 3);
            publish(trainer, job, v3, 3);
            deleteChunks(trainer.topics());

            trainer.rollback("phi", 1);
            List<WorkerStatus> failed = awaitWorkerStatuses(trainer, "phi", 4, VersionState.FAILED);

            assertThat(failed).hasSize(WORKERS).allSatisfy(s ->
                    assertThat(s.getMessage()).contains("rollback to version 1 failed, nothing changed on worker")
                            .contains(trainer.topics().chunks()).contains("were deleted (retention"));
            assertServes(job, "phi", 3, 3, v3);
            for (int worker = 0; worker < WORKERS; worker++) {
                assertThat(job.store(worker).orElseThrow().status("phi").staged()).isEmpty();
            }
        }
    }

    @Test
    void twoRollbacksInARowAreBothAppliedInOrderAndEndOnTheSecondTargetsContent(TestInfo test) throws Exception {
        String prefix = prefix(test);
        // Three slots: the first rollback may wait for its checkpoint in one shadow while the second stages.
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(conf(prefix, 3, 0))) {
            RandomPublish v2 = version("gemma", 2);
            publish(trainer, job, version("gemma", 1), 1);
            publish(trainer, job, v2, 2);
            publish(trainer, job, version("gemma", 3), 3);

            trainer.rollback("gemma", 1);
            trainer.rollback("gemma", 2);
            job.awaitVersionOnAllWorkers("gemma", 5);

            assertServes(job, "gemma", 5, 2, v2);
            assertThat(awaitWorkerStatuses(trainer, "gemma", 4, VersionState.COMMITTED)).hasSize(WORKERS)
                    .allSatisfy(s -> assertThat(s.getContentVersion()).isEqualTo(1));
            assertThat(awaitWorkerStatuses(trainer, "gemma", 5, VersionState.COMMITTED)).hasSize(WORKERS)
                    .allSatisfy(s -> assertThat(s.getContentVersion()).isEqualTo(2));
        }
    }

    @Test
    void rollbackWhileAPublishIsInFlightLetsThatPublishCompleteAsTheNextVersion(TestInfo test) throws Exception {
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(conf(prefix, 3, 0))) {
            RandomPublish v1 = version("mistral", 1);
            publish(trainer, job, v1, 1);
            publish(trainer, job, version("mistral", 2), 2);
            RandomPublish v3 = version("mistral", 3);
            int half = v3.chunks().size() / 2;
            trainer.send(v3, SendPlan.inOrder().withoutManifest().droppingFrom(half));
            RunningJob.await("every worker stages the publish in flight", () -> {
                for (int worker = 0; worker < WORKERS; worker++) {
                    if (job.store(worker).orElseThrow().status("mistral").staged().isEmpty()) {
                        return false;
                    }
                }
                return true;
            });

            trainer.rollback("mistral", 1);
            job.awaitVersionOnAllWorkers("mistral", 3);
            assertServes(job, "mistral", 3, 1, v1);

            trainer.send(v3, SendPlan.inOrder().droppingBefore(half));
            job.awaitVersionOnAllWorkers("mistral", 4);
            assertServes(job, "mistral", 4, 4, v3);
        }
    }

    private static Configuration conf(String prefix, int slots, int residentVersions) {
        Configuration conf = RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, WORKERS);
        conf.set(SinkOptions.SLOTS_PER_MODEL, slots);
        conf.set(SinkOptions.RESIDENT_VERSIONS, residentVersions);
        return conf;
    }

    private static RandomPublish version(String model, long step) {
        return RandomPublish.create(model, step, model.hashCode() + step, 30, 20_000, BUCKET, CHUNK);
    }

    private static void publish(TrainerTopics trainer, RunningJob job, RandomPublish version, long expectedVersion)
            throws InterruptedException {
        trainer.publish(version);
        job.awaitVersionOnAllWorkers(version.modelId(), expectedVersion);
    }

    private static void assertServes(RunningJob job, String model, long version, long contentVersion,
            RandomPublish content) {
        for (int worker = 0; worker < WORKERS; worker++) {
            try (ActiveVersion lease = job.lease(worker, model)) {
                assertThat(lease.info().version()).as("worker %d", worker).isEqualTo(version);
                assertThat(lease.info().contentVersion()).as("worker %d", worker).isEqualTo(contentVersion);
                assertThat(lease.info().publishId()).isEqualTo(content.publishId());
            }
            assertThat(job.activeBytes(worker, model)).as("worker %d", worker).isEqualTo(content.expectedBytes());
        }
    }

    /**
     * Waits until every worker reported {@code state} for {@code version} of {@code model}, and returns
     * those records of the workers (not the job): workers send them after the flip, asynchronously.
     */
    private static List<WorkerStatus> awaitWorkerStatuses(TrainerTopics trainer, String model, long version,
            VersionState state) throws InterruptedException {
        List<WorkerStatus> all = new OutputTopics(KAFKA.kafka(), trainer.topics()).awaitStatuses(
                "every worker reports version " + version + " of " + model + " " + state,
                statuses -> workerStatuses(statuses, model, version, state).size() >= WORKERS);
        return workerStatuses(all, model, version, state);
    }

    private static List<WorkerStatus> workerStatuses(List<WorkerStatus> statuses, String model, long version,
            VersionState state) {
        return statuses.stream()
                .filter(s -> s.getWorker() >= 0 && s.getModelId().equals(model) && s.getVersion() == version
                        && s.getState() == state)
                .collect(Collectors.toList());
    }

    /** Deletes every record of the chunks topic, as retention would. */
    private static void deleteChunks(TopicNames topics) throws Exception {
        try (Admin admin = Admin.create(KAFKA.kafka().adminProperties())) {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (int p = 0; p < TrainerTopics.CHUNK_PARTITIONS; p++) {
                latest.put(new TopicPartition(topics.chunks(), p), OffsetSpec.latest());
            }
            Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
            admin.listOffsets(latest).all().get()
                    .forEach((tp, info) -> delete.put(tp, RecordsToDelete.beforeOffset(info.offset())));
            admin.deleteRecords(delete).all().get();
        }
    }

    private static TrainerTopics trainer(String prefix) {
        return new TrainerTopics(KAFKA.kafka(), TopicNames.of(prefix));
    }

    private static String prefix(TestInfo test) {
        return "rb-" + test.getTestMethod().orElseThrow().getName().substring(0, 24).toLowerCase();
    }
}
