package io.weightpub.ops;

import io.weightpub.job.testutils.RunningJob;
import io.weightpub.ops.testutils.OpsTopics;
import io.weightpub.publisher.DType;
import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.TensorSource;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.testutils.KafkaClusterExtension;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real job (io.weightpub.job.WeightPublishingJob on a MiniCluster, two host-store workers) on
 * topics made by {@link TopicAdmin}, fed by the real publisher, read and steered through the ops
 * library: the version index and status it writes, and a rollback it carries out.
 */
class JobOpsITCase {

    /** An "org/name" id: every key that carries it ends in segments without a '/'. */
    private static final String MODEL = "meta/llama";

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @RegisterExtension
    static final MiniClusterExtension FLINK = RunningJob.miniCluster(4);

    private static final int WORKERS = 2;

    @Test
    void versionsStatusAndRollbackWithWaitWorkAgainstTheRunningJob() throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA);
                RunningJob job = RunningJob.start(
                        RunningJob.testConfiguration(KAFKA.bootstrapServers(), kafka.topics().prefix(), WORKERS));
                WeightPublisher publisher = WeightPublisher.builder()
                        .bootstrapServers(KAFKA.bootstrapServers())
                        .topicPrefix(kafka.topics().prefix())
                        .bucketSizeBytes(64 * 1024)
                        .chunkSizeBytes(8 * 1024)
                        .build()) {
            byte[] first = weights(1);
            PublishResult v1 = publisher.publish(MODEL, 10, List.of(
                    TensorSource.ofBytes("w", DType.F32, new long[] {first.length / 4}, first)));
            job.awaitVersionOnAllWorkers(MODEL, 1);
            PublishResult v2 = publisher.publish(MODEL, 11, List.of(
                    TensorSource.ofBytes("w", DType.F32, new long[] {first.length / 4}, weights(2))));
            job.awaitVersionOnAllWorkers(MODEL, 2);

            VersionIndexReader versions = new VersionIndexReader(kafka.connection(), kafka.topics());
            RunningJob.await("the index lists versions 1 and 2", () -> versions.read().versions().size() == 2);
            VersionIndex index = versions.read(Optional.of(MODEL));
            assertThat(index.versions()).extracting(IndexedVersion::publishId).containsExactly(v1.publishId(), v2.publishId());
            assertThat(index.versions()).allSatisfy(v -> {
                assertThat(v.retained()).isTrue();
                assertThat(v.totalBytes()).isEqualTo(first.length);
                assertThat(v.reason()).isEqualTo("publish");
            });
            assertThat(index.versions()).extracting(IndexedVersion::step).containsExactly(10L, 11L);

            StatusReader status = new StatusReader(kafka.connection(), kafka.topics());
            RunningJob.await("every worker reports version 2 active", () -> status.read().workers(MODEL).stream()
                    .filter(w -> !w.isJob() && w.activeVersion() == 2).count() == WORKERS);
            WorkerState jobState = status.read().find(MODEL, WorkerState.JOB).orElseThrow();
            assertThat(jobState.activeVersion()).isEqualTo(2);
            assertThat(jobState.state()).isEqualTo(VersionState.COMPLETED);

            // As long as RunningJob.await: a slow CI machine may take a while to replay and flip.
            RollbackResult rollback = Rollback.builder().modelId(MODEL).targetVersion(1).reason("test")
                    .waitFor(Duration.ofSeconds(180)).waitForWorkers(0).build()
                    .execute(kafka.connection(), kafka.topics());

            assertThat(rollback.newVersion()).hasValue(3);
            assertThat(rollback.workers()).extracting(WorkerStatus::getWorker).containsExactly(0, 1);
            for (int worker = 0; worker < WORKERS; worker++) {
                assertThat(job.activeVersion(worker, MODEL)).isEqualTo(3);
                assertThat(job.activeBytes(worker, MODEL)).isEqualTo(first);
            }
            RunningJob.await("the index lists version 3", () -> versions.read().find(MODEL, 3).isPresent());
            IndexedVersion rolledBack = versions.read().find(MODEL, 3).orElseThrow();
            assertThat(rolledBack.contentVersion()).isEqualTo(1);
            assertThat(rolledBack.publishId()).isEqualTo(v1.publishId());
            assertThat(rolledBack.reason()).startsWith("rollback to version 1 by request " + rollback.requestId());
        }
    }

    @Test
    void resetStepUnblocksAModelWhoseFirstPublishHadAHugeStep() throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA);
                RunningJob job = RunningJob.start(
                        RunningJob.testConfiguration(KAFKA.bootstrapServers(), kafka.topics().prefix(), 1));
                ControlClient control = new ControlClient(kafka.connection(), kafka.topics());
                WeightPublisher publisher = WeightPublisher.builder()
                        .bootstrapServers(KAFKA.bootstrapServers())
                        .topicPrefix(kafka.topics().prefix())
                        .bucketSizeBytes(64 * 1024)
                        .chunkSizeBytes(8 * 1024)
                        .build()) {
            byte[] weights = weights(3);
            publisher.publish(MODEL, Long.MAX_VALUE, List.of(
                    TensorSource.ofBytes("w", DType.F32, new long[] {weights.length / 4}, weights)));
            job.awaitVersionOnAllWorkers(MODEL, 1);
            PublishResult stale = publisher.publish(MODEL, 11, List.of(
                    TensorSource.ofBytes("w", DType.F32, new long[] {weights.length / 4}, weights(4))));
            StatusReader status = new StatusReader(kafka.connection(), kafka.topics());
            RunningJob.await("the job rejects step 11 as stale", () -> status.read().find(MODEL, WorkerState.JOB)
                    .filter(s -> s.publishId().equals(stale.publishId()) && s.state() == VersionState.REJECTED)
                    .isPresent());

            String request = control.resetStep(MODEL, null, "step 2^63-1 was a bug").getRequestId();
            RunningJob.await("the job answers the reset", () -> status.read().find(MODEL, WorkerState.JOB)
                    .filter(s -> s.message().contains(request)).isPresent());
            byte[] after = weights(5);
            publisher.publish(MODEL, 12, List.of(
                    TensorSource.ofBytes("w", DType.F32, new long[] {after.length / 4}, after)));
            job.awaitVersionOnAllWorkers(MODEL, 2);

            assertThat(job.activeBytes(0, MODEL)).isEqualTo(after);
            assertThat(status.read().find(MODEL, WorkerState.JOB).orElseThrow().activeVersion()).isEqualTo(2);
        }
    }

    /** 32 KiB of F32 weights, different per seed. */
    private static byte[] weights(long seed) {
        byte[] bytes = new byte[32 * 1024];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
