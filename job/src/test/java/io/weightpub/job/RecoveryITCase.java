package io.weightpub.job;

import io.weightpub.events.WeightEvent;
import io.weightpub.events.WeightEventTypeInfo;
import io.weightpub.job.testutils.ArmedByHoldingCheckpoint;
import io.weightpub.job.testutils.OutputTopics;
import io.weightpub.job.testutils.RunningJob;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.job.testutils.TrainerTopics.SendPlan;
import io.weightpub.job.testutils.TrainerTopics;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.sink.SinkOptions;
import io.weightpub.sink.WeightSink;
import io.weightpub.testutils.KafkaClusterExtension;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A worker that loses its memory with a task failure (as with a lost TaskManager) comes back from
 * Kafka: the restored writer re-reads the last committed version before serving anything, then the
 * chunks the publish in flight had staged, and that publish still completes.
 */
class RecoveryITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @RegisterExtension
    static final MiniClusterExtension FLINK = RunningJob.miniCluster(2);

    private static final long BUCKET = 64 * 1024;
    private static final int CHUNK = 8 * 1024;

    @Test
    void workerThatLostItsStoreRestoresTheCommittedVersionFromKafkaAndCompletesThePublishInFlight()
            throws Exception {
        String prefix = "recovery-lost-store";
        // One worker chained with the whole job: the injected loss happens on the worker's own thread.
        Configuration conf = RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, 1);
        RandomPublish v1 = RandomPublish.create("llama", 1, 21, 40, 20_000, BUCKET, CHUNK);
        RandomPublish v2 = RandomPublish.create("llama", 2, 22, 40, 20_000, BUCKET, CHUNK);
        RandomPublish trigger = RandomPublish.create("critic", 1, 23, 4, 2_000, BUCKET, CHUNK);
        LoseWorkerOnce loss = new LoseWorkerOnce(v2.publishId(), trigger.modelId(), conf.get(SinkOptions.NAME));
        try (TrainerTopics trainer = new TrainerTopics(KAFKA.kafka(), TopicNames.of(prefix));
                RunningJob job = RunningJob.start(conf, events -> events.map(loss)
                        .returns(WeightEventTypeInfo.INSTANCE).name("worker loss").setParallelism(1))) {
            trainer.publish(v1);
            job.awaitVersionOnAllWorkers("llama", 1);
            int half = v2.chunks().size() / 2;
            trainer.send(v2, SendPlan.inOrder().withoutManifest().droppingFrom(half));
            RunningJob.await("a checkpoint holds the half-staged publish", LoseWorkerOnce::armed);

            trainer.publish(trigger);
            RunningJob.await("the worker is lost", LoseWorkerOnce::lost);
            job.awaitVersionOnAllWorkers("llama", 1);

            assertThat(job.activeBytes(0, "llama")).isEqualTo(v1.expectedBytes());
            String replayed = "(the worker's store was lost): replayed " + v1.totalBytes() + " bytes from Kafka";
            String reread = "lost chunks of the publish in flight re-read";
            // The worker sends these asynchronously, the re-read one only after a further Kafka read:
            // serving version 1 again does not mean they are in the topic yet.
            List<WorkerStatus> statuses = new OutputTopics(KAFKA.kafka(), trainer.topics()).awaitStatuses(
                    "the restored worker reports the replay and the re-read of the staged chunks",
                    all -> workerStatuses(all, v1.publishId(), VersionState.COMMITTED).stream()
                                    .anyMatch(s -> s.getMessage().contains(replayed))
                            && workerStatuses(all, v2.publishId(), VersionState.STAGED).stream()
                                    .anyMatch(s -> s.getMessage().contains(reread)));
            assertThat(workerStatuses(statuses, v1.publishId(), VersionState.COMMITTED)).last()
                    .satisfies(s -> assertThat(s.getMessage()).contains(replayed));
            assertThat(workerStatuses(statuses, v2.publishId(), VersionState.STAGED))
                    .anySatisfy(s -> assertThat(s.getMessage()).contains(reread));

            trainer.send(v2, SendPlan.inOrder().droppingBefore(half));
            job.awaitVersionOnAllWorkers("llama", 2);
            assertThat(job.activeBytes(0, "llama")).isEqualTo(v2.expectedBytes());
            job.awaitVersionOnAllWorkers("critic", 1);
            assertThat(job.activeBytes(0, "critic")).isEqualTo(trigger.expectedBytes());
        }
    }

    private static List<WorkerStatus> workerStatuses(List<WorkerStatus> statuses, String publishId,
            VersionState state) {
        return statuses.stream()
                .filter(s -> s.getWorker() >= 0 && s.getPublishId().equals(publishId) && s.getState() == state)
                .collect(Collectors.toList());
    }

    /**
     * Passes events through; once a checkpoint that holds {@code publishId} half-staged completed,
     * the first event of {@code triggerModel} tears the sink's workers down (their stores are freed,
     * as when a TaskManager dies) and fails the task, once across restarts.
     */
    static final class LoseWorkerOnce extends ArmedByHoldingCheckpoint {

        private static final long serialVersionUID = 1L;
        private static final Arming ARMING = new Arming();
        private static final AtomicBoolean LOST = new AtomicBoolean();

        private final String triggerModel;
        private final String sinkName;

        LoseWorkerOnce(String publishId, String triggerModel, String sinkName) {
            super(publishId);
            this.triggerModel = triggerModel;
            this.sinkName = sinkName;
            LOST.set(false);
        }

        static boolean armed() {
            return ARMING.armed();
        }

        static boolean lost() {
            return LOST.get();
        }

        @Override
        protected Arming arming() {
            return ARMING;
        }

        @Override
        protected WeightEvent injectOrPass(WeightEvent event) {
            if (event.modelId().equals(triggerModel) && ARMING.fire()) {
                // Stores freed before the flag is set: a test that saw the loss must not find the old
                // stores still serving.
                WeightSink.release(sinkName);
                LOST.set(true);
                throw new IllegalStateException("injected loss of the workers of sink " + sinkName);
            }
            return event;
        }
    }
}
