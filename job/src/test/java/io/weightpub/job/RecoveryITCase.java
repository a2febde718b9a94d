package io.weightpub.job;

import io.weightpub.job.testutils.OutputTopics;
import io.weightpub.job.testutils.RunningJob;
import io.weightpub.job.testutils.TestVersion;
import io.weightpub.job.testutils.TrainerTopics;
import io.weightpub.job.testutils.TrainerTopics.SendPlan;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.sink.SinkOptions;
import io.weightpub.sink.WeightEvent;
import io.weightpub.sink.WeightEventTypeInfo;
import io.weightpub.sink.WeightSink;
import io.weightpub.testutils.KafkaClusterExtension;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
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
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .build());

    private static final long BUCKET = 64 * 1024;
    private static final int CHUNK = 8 * 1024;

    @Test
    void workerThatLostItsStoreRestoresTheCommittedVersionFromKafkaAndCompletesThePublishInFlight()
            throws Exception {
        String prefix = "recovery-lost-store";
        // One worker chained with the whole job: the injected loss happens on the worker's own thread.
        Configuration conf = RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, 1);
        TestVersion v1 = TestVersion.create("llama", 1, 21, 40, 20_000, BUCKET, CHUNK);
        TestVersion v2 = TestVersion.create("llama", 2, 22, 40, 20_000, BUCKET, CHUNK);
        TestVersion trigger = TestVersion.create("critic", 1, 23, 4, 2_000, BUCKET, CHUNK);
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
            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            assertThat(workerStatuses(out, v1.publishId(), VersionState.COMMITTED)).last()
                    .satisfies(s -> assertThat(s.getMessage()).contains("(the worker's store was lost): replayed "
                            + v1.totalBytes() + " bytes from Kafka"));
            assertThat(workerStatuses(out, v2.publishId(), VersionState.STAGED))
                    .anySatisfy(s -> assertThat(s.getMessage()).contains("lost chunks of the publish in flight "
                            + "re-read"));

            trainer.send(v2, SendPlan.inOrder().droppingBefore(half));
            job.awaitVersionOnAllWorkers("llama", 2);
            assertThat(job.activeBytes(0, "llama")).isEqualTo(v2.expectedBytes());
            job.awaitVersionOnAllWorkers("critic", 1);
            assertThat(job.activeBytes(0, "critic")).isEqualTo(trigger.expectedBytes());
        }
    }

    private static List<WorkerStatus> workerStatuses(OutputTopics out, String publishId, VersionState state) {
        return out.statuses().stream()
                .filter(s -> s.getWorker() >= 0 && s.getPublishId().equals(publishId) && s.getState() == state)
                .collect(Collectors.toList());
    }

    /**
     * Passes events through; once a checkpoint that holds {@code publishId} half-staged completed,
     * the first event of {@code triggerModel} tears the sink's workers down (their stores are freed,
     * as when a TaskManager dies) and fails the task. State is static: the MiniCluster runs in this
     * JVM and the loss must happen once across restarts.
     */
    static final class LoseWorkerOnce
            implements MapFunction<WeightEvent, WeightEvent>, CheckpointedFunction, CheckpointListener {

        private static final long serialVersionUID = 1L;
        private static final AtomicBoolean SEEN = new AtomicBoolean();
        private static final AtomicLong HOLDING_CHECKPOINT = new AtomicLong(Long.MAX_VALUE);
        private static final AtomicBoolean ARMED = new AtomicBoolean();
        private static final AtomicBoolean LOST = new AtomicBoolean();

        private final String publishId;
        private final String triggerModel;
        private final String sinkName;

        LoseWorkerOnce(String publishId, String triggerModel, String sinkName) {
            this.publishId = publishId;
            this.triggerModel = triggerModel;
            this.sinkName = sinkName;
            SEEN.set(false);
            HOLDING_CHECKPOINT.set(Long.MAX_VALUE);
            ARMED.set(false);
            LOST.set(false);
        }

        static boolean armed() {
            return ARMED.get();
        }

        static boolean lost() {
            return LOST.get();
        }

        @Override
        public WeightEvent map(WeightEvent event) {
            if (event.kind() == WeightEvent.Kind.STAGE_CHUNK && event.publishId().equals(publishId)) {
                SEEN.set(true);
            }
            if (ARMED.get() && event.modelId().equals(triggerModel) && LOST.compareAndSet(false, true)) {
                WeightSink.release(sinkName);
                throw new IllegalStateException("injected loss of the workers of sink " + sinkName);
            }
            return event;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) {
            // The sink writer is chained after this function: it staged every chunk this function passed on.
            if (SEEN.get()) {
                HOLDING_CHECKPOINT.accumulateAndGet(context.getCheckpointId(), Math::min);
            }
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {
            // Nothing to restore: the test's state is static.
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            if (checkpointId >= HOLDING_CHECKPOINT.get()) {
                ARMED.set(true);
            }
        }
    }
}
