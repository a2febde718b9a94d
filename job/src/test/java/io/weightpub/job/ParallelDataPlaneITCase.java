package io.weightpub.job;

import io.weightpub.job.testutils.OutputTopics;
import io.weightpub.job.testutils.RunningJob;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.job.testutils.TrainerTopics;
import io.weightpub.job.testutils.TrainerTopics.SendPlan;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.testutils.KafkaClusterExtension;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.groups.OperatorMetricGroup;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The parallel data plane at parallelism 4 over a chunks topic of 8 partitions: the chunks of one
 * version are checked by several checker subtasks, the payload never funnels through one subtask,
 * and every guarantee of the single-subtask job still holds on 2 workers.
 */
class ParallelDataPlaneITCase {

    private static final int PARALLELISM = 4;
    private static final int PARTITIONS = 8;
    private static final long BUCKET = 64 * 1024;
    private static final int CHUNK = 8 * 1024;

    private static final InMemoryReporter METRICS = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setConfiguration(METRICS.addToConfiguration(new Configuration()))
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(PARALLELISM)
            .build());

    @Test
    void aVersionWhoseBucketsSpreadOverPartitionsIsCheckedBySeveralSubtasksAndActiveBitExactOnTwoWorkers(
            TestInfo test) throws Exception {
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(configuration(prefix))) {
            RandomPublish v1 = RandomPublish.create("llama", 100, 1, 160, 20_000, BUCKET, CHUNK);
            assertThat(v1.manifest().getBuckets()).hasSizeGreaterThan(2 * PARTITIONS);

            trainer.publish(v1);
            job.awaitVersionOnAllWorkers("llama", 1);

            for (int worker = 0; worker < 2; worker++) {
                assertThat(job.activeBytes(worker, "llama")).as("worker %d", worker).isEqualTo(v1.expectedBytes());
            }
            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            assertThat(out.versionIndex()).singleElement().satisfies(entry -> assertThat(entry.getChunkRanges())
                    .extracting(KafkaOffsetRange::getPartition).hasSizeGreaterThan(PARALLELISM));
            List<Long> checkedPerSubtask = chunksCheckedPerSubtask(job.client().getJobID());
            System.out.printf("%d chunks over %d partitions; checked per checker subtask: %s%n", v1.chunks().size(),
                    PARTITIONS, checkedPerSubtask);
            assertThat(checkedPerSubtask).hasSize(PARALLELISM);
            assertThat(checkedPerSubtask.stream().mapToLong(Long::longValue).sum()).isEqualTo(v1.chunks().size());
            assertThat(checkedPerSubtask).as("chunks checked per checker subtask: no single funnel")
                    .filteredOn(n -> n > 0).hasSizeGreaterThan(1)
                    .allSatisfy(n -> assertThat(n).isLessThan(v1.chunks().size()));
            assertThat(out.deadLetters()).isEmpty();
        }
    }

    @Test
    void aCrcBadChunkAmongGoodOnesFailsItsPublishOnceAndTheNextVersionStillBecomesActive(TestInfo test)
            throws Exception {
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(configuration(prefix))) {
            RandomPublish bad = RandomPublish.create("mistral", 7, 5, 60, 20_000, BUCKET, CHUNK);
            RandomPublish good = RandomPublish.create("mistral", 8, 6, 60, 20_000, BUCKET, CHUNK);
            trainer.send(bad, SendPlan.inOrder().shuffled(3).replacingValue(2, 1, value -> {
                byte[] flipped = value.clone();
                flipped[flipped.length - 100] ^= 0x01;
                return flipped;
            }));
            trainer.publish(good);
            job.awaitVersionOnAllWorkers("mistral", 1);

            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            List<WorkerStatus> statuses = out.awaitStatuses("the bad publish failed",
                    all -> states(all, bad.publishId(), -1).contains(VersionState.FAILED));
            assertThat(states(statuses, bad.publishId(), -1)).containsExactly(VersionState.FAILED);
            // Chunks of the publish the coordinator counts after it failed are quarantined as such.
            assertThat(out.deadLetters()).filteredOn(letter -> !letter.getReason().contains("FAILED earlier"))
                    .singleElement().satisfies(letter -> {
                assertThat(letter.getReason()).contains("CRC32C mismatch");
                assertThat(letter.getBucketIndex()).isEqualTo(2);
                assertThat(letter.getChunkIndex()).isEqualTo(1);
                assertThat(letter.getRaw()).as("the checker has the record's bytes").isNotNull();
            });
            for (int worker = 0; worker < 2; worker++) {
                assertThat(job.activeBytes(worker, "mistral")).isEqualTo(good.expectedBytes());
            }
        }
    }

    @Test
    void aChunkClaimingAnotherVersionSizeFailsItsPublishAndTheNextVersionStillBecomesActive(TestInfo test)
            throws Exception {
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(configuration(prefix))) {
            RandomPublish lying = RandomPublish.create("qwen", 7, 7, 40, 20_000, BUCKET, CHUNK);
            RandomPublish good = RandomPublish.create("qwen", 8, 8, 40, 20_000, BUCKET, CHUNK);
            // A chunk of the first bucket claiming a larger version is consistent on its own: the buckets
            // after it could hold the rest. Only the coordinator, which has seen its publish, can refute it.
            WeightChunk liar = lying.chunks().get(1);
            long claimed = liar.getVersionBytes() + 4096;
            trainer.send(lying, SendPlan.inOrder().replacingValue(liar.getBucketIndex(), liar.getChunkIndex(),
                    value -> WireCodec.CHUNK.encode(WeightChunk.newBuilder(liar).setVersionBytes(claimed).build())));
            trainer.publish(good);
            job.awaitVersionOnAllWorkers("qwen", 1);

            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            out.awaitStatuses("the lying publish failed",
                    all -> states(all, lying.publishId(), -1).contains(VersionState.FAILED));
            // Whichever of the lie and the truth the coordinator counted first, the other fails the publish.
            assertThat(out.deadLetters()).filteredOn(letter -> !letter.getReason().contains("FAILED earlier"))
                    .singleElement().satisfies(letter -> {
                        assertThat(letter.getReason()).contains(String.valueOf(claimed));
                        assertThat(letter.getTopic()).isEqualTo(trainer.topics().chunks());
                        assertThat(letter.getRawSize()).isPositive();
                        assertThat(letter.getRaw()).as("the coordinator never sees the bytes").isNull();
                    });
            for (int worker = 0; worker < 2; worker++) {
                assertThat(job.activeBytes(worker, "qwen")).isEqualTo(good.expectedBytes());
                assertThat(job.store(worker).orElseThrow().status("qwen").staged()).isEmpty();
            }
        }
    }

    @Test
    void chunksArrivingAfterTheirPublishFailedDoNotReopenASlotOnAnyWorker(TestInfo test) throws Exception {
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(configuration(prefix))) {
            RandomPublish doomed = RandomPublish.create("phi", 7, 9, 40, 20_000, BUCKET, CHUNK);
            int half = doomed.chunks().size() / 2;
            WeightChunk corrupt = doomed.chunks().get(1);
            trainer.send(doomed, SendPlan.inOrder().droppingFrom(half).withoutManifest()
                    .replacingValue(corrupt.getBucketIndex(), corrupt.getChunkIndex(), value -> {
                        byte[] flipped = value.clone();
                        flipped[flipped.length - 10] ^= 0x01;
                        return flipped;
                    }));
            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            out.awaitStatuses("the publish failed", all -> states(all, doomed.publishId(), -1)
                    .contains(VersionState.FAILED));

            trainer.send(doomed, SendPlan.inOrder().droppingBefore(half));
            Set<String> lateChunks = doomed.chunks().subList(half, doomed.chunks().size()).stream()
                    .map(c -> c.getBucketIndex() + "/" + c.getChunkIndex()).collect(Collectors.toSet());
            int late = lateChunks.size();
            RunningJob.await("every late record of the failed publish is dead-lettered", () -> {
                List<DeadLetter> letters = out.deadLetters();
                boolean manifest = letters.stream().anyMatch(l -> l.getTopic().equals(trainer.topics().manifests()));
                Set<String> chunks = letters.stream().filter(l -> l.getReason().contains("FAILED earlier"))
                        .filter(l -> l.getBucketIndex() != null)
                        .map(l -> l.getBucketIndex() + "/" + l.getChunkIndex()).collect(Collectors.toSet());
                return manifest && chunks.containsAll(lateChunks);
            });
            // The checkers sent those chunks to the workers before their receipts reached the coordinator.
            RandomPublish next = RandomPublish.create("phi", 8, 10, 40, 20_000, BUCKET, CHUNK);
            trainer.publish(next);
            job.awaitVersionOnAllWorkers("phi", 1);

            List<WorkerStatus> statuses = out.statuses();
            for (int worker = 0; worker < 2; worker++) {
                assertThat(job.activeBytes(worker, "phi")).isEqualTo(next.expectedBytes());
                assertThat(job.store(worker).orElseThrow().status("phi").staged()).isEmpty();
                List<VersionState> states = states(statuses, doomed.publishId(), worker);
                // STAGED is reported when a chunk opens a slot; one after the abort would be a re-opened slot.
                assertThat(states.lastIndexOf(VersionState.STAGED)).as("worker %d: %s", worker, states)
                        .isLessThanOrEqualTo(states.lastIndexOf(VersionState.ABORTED));
            }
            assertThat(out.deadLetters()).filteredOn(letter -> letter.getReason().contains("was FAILED earlier"))
                    .hasSizeGreaterThanOrEqualTo(late + 1);
        }
    }

    private static List<Long> chunksCheckedPerSubtask(JobID job) {
        List<Long> counts = new ArrayList<>();
        for (OperatorMetricGroup group : METRICS.findOperatorMetricGroups(job, "chunk checker")) {
            counts.add(((Counter) METRICS.getMetricsByGroup(group).get("chunksChecked")).getCount());
        }
        return counts;
    }

    private static List<VersionState> states(List<WorkerStatus> statuses, String publishId, int worker) {
        return statuses.stream()
                .filter(s -> s.getWorker() == worker && s.getPublishId().equals(publishId))
                .map(WorkerStatus::getState)
                .collect(Collectors.toList());
    }

    private static Configuration configuration(String prefix) {
        Configuration conf = RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, 2);
        conf.set(JobOptions.PARALLELISM, PARALLELISM);
        return conf;
    }

    private static TrainerTopics trainer(String prefix) {
        return new TrainerTopics(KAFKA.kafka(), TopicNames.of(prefix), PARTITIONS);
    }

    private static String prefix(TestInfo test) {
        return "pp-" + Integer.toHexString(test.getTestMethod().orElseThrow().getName().hashCode());
    }
}
