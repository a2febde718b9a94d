package io.weightpub.job;

import io.weightpub.events.WeightEventTypeInfo;
import io.weightpub.job.testutils.FailOnceAfterCheckpoint;
import io.weightpub.job.testutils.OutputTopics;
import io.weightpub.job.testutils.RunningJob;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.job.testutils.TrainerTopics.SendPlan;
import io.weightpub.job.testutils.TrainerTopics;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.store.ActiveVersion;
import io.weightpub.testutils.KafkaClusterExtension;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The whole job on a real Flink MiniCluster against a real Kafka broker, with host weight stores. */
class WeightPublishingJobITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @RegisterExtension
    static final MiniClusterExtension FLINK = RunningJob.miniCluster(4);

    private static final long BUCKET = 64 * 1024;
    private static final int CHUNK = 8 * 1024;

    @Test
    void completeVersionsReachEveryWorkerBitExact(TestInfo test) throws Exception {
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix);
                RunningJob job = RunningJob.start(RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, 3))) {
            RandomPublish v1 = RandomPublish.create("llama", 100, 1, 40, 20_000, BUCKET, CHUNK);
            RandomPublish v2 = RandomPublish.create("llama", 101, 2, 40, 20_000, BUCKET, CHUNK);
            trainer.publish(v1);
            job.awaitVersionOnAllWorkers("llama", 1);
            trainer.publish(v2);
            job.awaitVersionOnAllWorkers("llama", 2);

            for (int worker = 0; worker < 3; worker++) {
                assertThat(job.activeBytes(worker, "llama")).as("worker %d", worker).isEqualTo(v2.expectedBytes());
                // A lease left open keeps its slot: closing the job would wait for it.
                try (ActiveVersion lease = job.lease(worker, "llama")) {
                    assertThat(lease.info().publishId()).isEqualTo(v2.publishId());
                }
            }
            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            assertThat(out.versionIndex()).extracting(VersionIndexEntry::getVersion, VersionIndexEntry::getPublishId)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(1L, v1.publishId()),
                            org.assertj.core.groups.Tuple.tuple(2L, v2.publishId()));
            assertThat(out.deadLetters()).isEmpty();
        }
    }

    @Test
    void shuffledDuplicatedChunksWithTheManifestFirstOrLastApplyTheSameBytes(TestInfo test) throws Exception {
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix);
                RunningJob job = RunningJob.start(RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, 1))) {
            RandomPublish v1 = RandomPublish.create("qwen", 5, 3, 60, 30_000, BUCKET, CHUNK);
            RandomPublish v2 = RandomPublish.create("qwen", 6, 4, 60, 30_000, BUCKET, CHUNK);
            trainer.send(v1, SendPlan.inOrder().shuffled(11).duplicatingEveryChunk().manifestFirst());
            job.awaitVersionOnAllWorkers("qwen", 1);
            assertThat(job.activeBytes(0, "qwen")).isEqualTo(v1.expectedBytes());
            trainer.send(v2, SendPlan.inOrder().shuffled(12).duplicatingEveryChunk());
            job.awaitVersionOnAllWorkers("qwen", 2);
            assertThat(job.activeBytes(0, "qwen")).isEqualTo(v2.expectedBytes());
            assertThat(new OutputTopics(KAFKA.kafka(), trainer.topics()).deadLetters()).isEmpty();
        }
    }

    @Test
    void corruptedChunkIsDeadLetteredItsVersionFailsAndTheNextVersionApplies(TestInfo test) throws Exception {
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix);
                RunningJob job = RunningJob.start(RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, 2))) {
            RandomPublish bad = RandomPublish.create("mistral", 7, 5, 30, 20_000, BUCKET, CHUNK);
            RandomPublish good = RandomPublish.create("mistral", 8, 6, 30, 20_000, BUCKET, CHUNK);
            trainer.send(bad, SendPlan.inOrder().replacingValue(1, 3, value -> {
                byte[] flipped = value.clone();
                flipped[flipped.length - 100] ^= 0x01;
                return flipped;
            }));
            trainer.publish(good);
            job.awaitVersionOnAllWorkers("mistral", 1);

            for (int worker = 0; worker < 2; worker++) {
                try (ActiveVersion lease = job.lease(worker, "mistral")) {
                    assertThat(lease.info().publishId()).isEqualTo(good.publishId());
                }
                assertThat(job.activeBytes(worker, "mistral")).isEqualTo(good.expectedBytes());
            }
            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            // The good version may be served before the dead letter and the FAILED status are read back.
            RunningJob.await("the corrupted chunk is dead-lettered and its publish reported failed",
                    () -> !out.deadLetters().isEmpty()
                            && jobStatuses(out, bad.publishId()).contains(VersionState.FAILED));
            // The checker's dead letter and the coordinator's (for later chunks of the failed publish)
            // reach the topic through a union, in either order.
            List<DeadLetter> letters = out.deadLetters().stream()
                    .filter(letter -> letter.getReason().startsWith("CRC32C mismatch")).toList();
            assertThat(letters).hasSize(1);
            assertThat(letters.get(0).getTopic()).isEqualTo(trainer.topics().chunks());
            assertThat(letters.get(0).getBucketIndex()).isEqualTo(1);
            assertThat(letters.get(0).getChunkIndex()).isEqualTo(3);
            assertThat(jobStatuses(out, bad.publishId())).contains(VersionState.FAILED);
            assertThat(jobStatuses(out, good.publishId())).containsExactly(VersionState.COMPLETED);
        }
    }

    @Test
    void publishMissingAChunkIsAbortedAfterTheTimeoutNeverAppliedAndItsStepPublishesAgain(TestInfo test)
            throws Exception {
        String prefix = prefix(test);
        Configuration conf = RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, 1);
        conf.set(JobOptions.PUBLISH_TIMEOUT, Duration.ofSeconds(2));
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(conf)) {
            RandomPublish incomplete = RandomPublish.create("phi", 1, 7, 20, 20_000, BUCKET, CHUNK);
            trainer.send(incomplete, SendPlan.inOrder().dropping(0, 2));
            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            RunningJob.await("the incomplete publish is aborted",
                    () -> jobStatuses(out, incomplete.publishId()).contains(VersionState.ABORTED));

            assertThat(job.activeVersion(0, "phi")).isEqualTo(-1);
            // The trainer restarts and republishes the same step: an aborted step is not stale.
            RandomPublish republished = RandomPublish.create("phi", 1, 8, 20, 20_000, BUCKET, CHUNK);
            trainer.publish(republished);
            job.awaitVersionOnAllWorkers("phi", 1);
            assertThat(job.activeBytes(0, "phi")).isEqualTo(republished.expectedBytes());
            assertThat(jobStatuses(out, republished.publishId())).contains(VersionState.COMPLETED)
                    .doesNotContain(VersionState.REJECTED);
        }
    }

    @Test
    void interleavedModelsVersionIndependentlyAndAStaleRepublishIsRejected(TestInfo test) throws Exception {
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix);
                RunningJob job = RunningJob.start(RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, 2))) {
            RandomPublish a1 = RandomPublish.create("actor", 10, 9, 30, 10_000, BUCKET, CHUNK);
            RandomPublish b1 = RandomPublish.create("org/critic", 3, 10, 30, 10_000, BUCKET, CHUNK);
            RandomPublish a2 = RandomPublish.create("actor", 11, 11, 30, 10_000, BUCKET, CHUNK);
            trainer.send(a1, SendPlan.inOrder().shuffled(1));
            trainer.send(b1, SendPlan.inOrder().shuffled(2));
            trainer.send(a2, SendPlan.inOrder().shuffled(3));
            job.awaitVersionOnAllWorkers("actor", 2);
            job.awaitVersionOnAllWorkers("org/critic", 1);

            RandomPublish staleA = RandomPublish.create("actor", 10, 12, 30, 10_000, BUCKET, CHUNK);
            trainer.publish(staleA);
            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            RunningJob.await("the stale republish is rejected",
                    () -> jobStatuses(out, staleA.publishId()).contains(VersionState.REJECTED));
            for (int worker = 0; worker < 2; worker++) {
                assertThat(job.activeBytes(worker, "actor")).isEqualTo(a2.expectedBytes());
                assertThat(job.activeBytes(worker, "org/critic")).isEqualTo(b1.expectedBytes());
                assertThat(job.activeVersion(worker, "actor")).isEqualTo(2);
            }
        }
    }

    @Test
    void failureMidVersionRestartsFromACheckpointAndEveryVersionIsAppliedExactlyOnce(TestInfo test)
            throws Exception {
        String prefix = prefix(test);
        RandomPublish v1 = RandomPublish.create("gemma", 1, 13, 40, 20_000, BUCKET, CHUNK);
        RandomPublish v2 = RandomPublish.create("gemma", 2, 14, 40, 20_000, BUCKET, CHUNK);
        RandomPublish v3 = RandomPublish.create("gemma", 3, 15, 40, 20_000, BUCKET, CHUNK);
        FailOnceAfterCheckpoint injector = new FailOnceAfterCheckpoint(v2.publishId());
        try (TrainerTopics trainer = trainer(prefix);
                RunningJob job = RunningJob.start(RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, 2),
                        events -> events.map(injector).returns(WeightEventTypeInfo.INSTANCE).name("failure injector")
                                .setParallelism(1))) {
            trainer.publish(v1);
            job.awaitVersionOnAllWorkers("gemma", 1);

            int half = v2.chunks().size() / 2;
            trainer.send(v2, SendPlan.inOrder().withoutManifest().droppingFrom(half));
            RunningJob.await("a checkpoint holds the half-staged publish", FailOnceAfterCheckpoint::armed);
            trainer.send(v2, SendPlan.inOrder().droppingBefore(half));
            job.awaitVersionOnAllWorkers("gemma", 2);
            trainer.publish(v3);
            job.awaitVersionOnAllWorkers("gemma", 3);

            assertThat(FailOnceAfterCheckpoint.failed()).isTrue();
            for (int worker = 0; worker < 2; worker++) {
                assertThat(job.activeBytes(worker, "gemma")).isEqualTo(v3.expectedBytes());
            }
            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            Map<Long, Set<String>> publishesByVersion = new HashMap<>();
            for (VersionIndexEntry entry : out.versionIndex()) {
                publishesByVersion.computeIfAbsent(entry.getVersion(), v -> new java.util.HashSet<>())
                        .add(entry.getPublishId());
            }
            assertThat(publishesByVersion).containsOnly(
                    Map.entry(1L, Set.of(v1.publishId())),
                    Map.entry(2L, Set.of(v2.publishId())),
                    Map.entry(3L, Set.of(v3.publishId())));
            Set<String> expectedCommits = Set.of("0/1", "1/1", "0/2", "1/2", "0/3", "1/3");
            List<WorkerStatus> statuses = out.awaitStatuses("every worker reports versions 1 to 3 committed",
                    all -> committedByWorker(all).containsAll(expectedCommits));
            assertThat(committedByWorker(statuses)).containsExactlyInAnyOrderElementsOf(expectedCommits);
        }
    }

    /** "worker/version" of every COMMITTED status record of a worker. */
    private static Set<String> committedByWorker(List<WorkerStatus> statuses) {
        return statuses.stream()
                .filter(s -> s.getWorker() >= 0 && s.getState() == VersionState.COMMITTED)
                .map(s -> s.getWorker() + "/" + s.getVersion())
                .collect(Collectors.toSet());
    }

    private static List<VersionState> jobStatuses(OutputTopics out, String publishId) {
        return out.statuses().stream()
                .filter(s -> s.getWorker() == -1 && s.getPublishId().equals(publishId))
                .map(WorkerStatus::getState)
                .collect(Collectors.toList());
    }

    private static TrainerTopics trainer(String prefix) {
        return new TrainerTopics(KAFKA.kafka(), TopicNames.of(prefix));
    }

    private static String prefix(TestInfo test) {
        return "it-" + test.getTestMethod().orElseThrow().getName().substring(0, 20).toLowerCase();
    }
}
