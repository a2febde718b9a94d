package io.weightpub.ops;

import io.weightpub.ops.testutils.OpsTopics;
import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.testutils.KafkaClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static io.weightpub.ops.testutils.OpsTopics.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

class RollbackITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @Test
    void sendsARollbackControlRecordKeyedByModel() throws Exception {
        try (OpsTopics kafka = withTwoVersions()) {
            RollbackResult result = Rollback.builder().modelId("llama").targetVersion(1).reason("bad reward").build()
                    .execute(kafka.connection(), kafka.topics());

            assertThat(result.newVersion()).isEmpty();
            assertThat(kafka.controlRecords()).singleElement().satisfies(control -> {
                assertThat(control.getModelId()).isEqualTo("llama");
                assertThat(control.getAction()).isEqualTo(ControlAction.ROLLBACK);
                assertThat(control.getTargetVersion()).isEqualTo(1L);
                assertThat(control.getPublishId()).isNull();
                assertThat(control.getReason()).isEqualTo("bad reward");
                assertThat(control.getRequestId()).isEqualTo(result.requestId());
                assertThat(UUID.fromString(control.getRequestId())).isNotNull();
                assertThat(control.getRequestedAtMs()).isPositive();
            });
        }
    }

    @Test
    void refusesAVersionTheIndexDoesNotKnowAndSendsNothing() throws Exception {
        try (OpsTopics kafka = withTwoVersions()) {
            Rollback rollback = Rollback.builder().modelId("llama").targetVersion(9).build();

            assertThatThrownBy(() -> rollback.execute(kafka.connection(), kafka.topics()))
                    .isInstanceOf(OpsException.class)
                    .hasMessageContaining("model llama has no version 9")
                    .hasMessageContaining("known versions: 1, 2");
            assertThat(kafka.controlRecords()).isEmpty();
        }
    }

    @Test
    void refusesAVersionWhoseChunksAreGoneUnlessForced() throws Exception {
        try (OpsTopics kafka = withTwoVersions()) {
            kafka.deleteChunksBefore(0, 2); // version 1 took offsets 0..1
            Rollback refused = Rollback.builder().modelId("llama").targetVersion(1).build();

            assertThatThrownBy(() -> refused.execute(kafka.connection(), kafka.topics()))
                    .isInstanceOf(OpsException.class)
                    .hasMessageContaining("version 1 of model llama is no longer retained")
                    .hasMessageContaining("the log now starts at 2");
            assertThat(kafka.controlRecords()).isEmpty();

            Rollback.builder().modelId("llama").targetVersion(1).force(true).build()
                    .execute(kafka.connection(), kafka.topics());
            assertThat(kafka.controlRecords()).extracting(ControlRecord::getTargetVersion).containsExactly(1L);
        }
    }

    @Test
    void waitReturnsTheNewVersionOnceTheJobReportsTheRollbackCompleted() throws Exception {
        try (OpsTopics kafka = withTwoVersions()) {
            CompletableFuture<Void> job = kafka.answerFirstControlRecord(request -> List.of(
                    // Another request's answer first: it must not end the wait.
                    status("llama", WorkerState.JOB, VersionState.COMPLETED, 3, 1, "publish-1",
                            "rollback to version 1 by request " + UUID.randomUUID() + " (content of version 1)"),
                    status("llama", WorkerState.JOB, VersionState.COMPLETED, 4, 1, "publish-1",
                            "rollback to version 1 by request " + request.getRequestId()
                                    + ": bad reward (content of version 1)")));

            RollbackResult result = Rollback.builder().modelId("llama").targetVersion(1).reason("bad reward")
                    .waitFor(Duration.ofSeconds(30)).build()
                    .execute(kafka.connection(), kafka.topics());
            job.get();

            assertThat(result.newVersion()).hasValue(4);
            assertThat(result.targetVersion()).isEqualTo(1);
            assertThat(result.workers()).isEmpty();
        }
    }

    @Test
    void waitFailsWithTheJobsMessageWhenTheJobCannotRollBack() throws Exception {
        try (OpsTopics kafka = withTwoVersions()) {
            CompletableFuture<Void> job = kafka.answerFirstControlRecord(request -> List.of(
                    status("llama", WorkerState.JOB, VersionState.FAILED, -1, -1, "",
                            "rollback request " + request.getRequestId()
                                    + ": version 1 of model llama is unknown or no longer retained by the job")));

            Rollback rollback = Rollback.builder().modelId("llama").targetVersion(1)
                    .waitFor(Duration.ofSeconds(30)).build();

            assertThatThrownBy(() -> rollback.execute(kafka.connection(), kafka.topics()))
                    .isInstanceOf(OpsException.class)
                    .hasMessageStartingWith("the job did not roll model llama back to version 1: rollback request ")
                    .hasMessageEndingWith("no longer retained by the job");
            job.get();
        }
    }

    @Test
    void waitForWorkersReturnsOnceEveryKnownWorkerHasCommittedTheNewVersion() throws Exception {
        try (OpsTopics kafka = withTwoVersions()) {
            kafka.write(status("llama", 0, VersionState.ACTIVE, 2, 2, "publish-2", ""));
            kafka.write(status("llama", 1, VersionState.ACTIVE, 2, 2, "publish-2", ""));
            CompletableFuture<Void> job = kafka.answerFirstControlRecord(request -> List.of(
                    status("llama", WorkerState.JOB, VersionState.COMPLETED, 3, 1, "publish-1",
                            "rollback to version 1 by request " + request.getRequestId()),
                    status("llama", 0, VersionState.STAGED, 3, 1, "publish-1", ""),
                    status("llama", 0, VersionState.COMMITTED, 3, 1, "publish-1", ""),
                    status("qwen", 1, VersionState.COMMITTED, 3, 3, "q", ""),
                    status("llama", 1, VersionState.ACTIVE, 3, 1, "publish-1", "")));

            RollbackResult result = Rollback.builder().modelId("llama").targetVersion(1)
                    .waitFor(Duration.ofSeconds(30)).waitForWorkers(0).build()
                    .execute(kafka.connection(), kafka.topics());
            job.get();

            assertThat(result.newVersion()).hasValue(3);
            assertThat(result.workers()).extracting(WorkerStatus::getWorker, WorkerStatus::getState)
                    .containsExactly(
                            tuple(0, VersionState.COMMITTED),
                            tuple(1, VersionState.ACTIVE));
        }
    }

    @Test
    void waitForWorkersFailsWhenAWorkerFailsTheNewVersion() throws Exception {
        try (OpsTopics kafka = withTwoVersions()) {
            CompletableFuture<Void> job = kafka.answerFirstControlRecord(request -> List.of(
                    status("llama", WorkerState.JOB, VersionState.COMPLETED, 3, 1, "publish-1",
                            "rollback to version 1 by request " + request.getRequestId()),
                    status("llama", 0, VersionState.FAILED, 3, 1, "publish-1", "bucket 0 digest mismatch")));

            Rollback rollback = Rollback.builder().modelId("llama").targetVersion(1)
                    .waitFor(Duration.ofSeconds(30)).waitForWorkers(2).build();

            assertThatThrownBy(() -> rollback.execute(kafka.connection(), kafka.topics()))
                    .isInstanceOf(OpsException.class)
                    .hasMessage("worker 0 of model llama failed version 3 (the rollback to version 1): bucket 0 digest mismatch");
            job.get();
        }
    }

    @Test
    void waitGivesUpAtTheDeadlineWhenNoAnswerComes() throws Exception {
        try (OpsTopics kafka = withTwoVersions()) {
            Rollback rollback = Rollback.builder().modelId("llama").targetVersion(2)
                    .waitFor(Duration.ofSeconds(2)).build();

            assertThatThrownBy(() -> rollback.execute(kafka.connection(), kafka.topics()))
                    .isInstanceOf(OpsException.class)
                    .hasMessageStartingWith("gave up waiting for the job to publish rollback request ");
            assertThat(kafka.controlRecords()).hasSize(1);
        }
    }

    @Test
    void builderRejectsMissingOrInconsistentSettings() {
        assertThatThrownBy(() -> Rollback.builder().targetVersion(1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("model id");
        assertThatThrownBy(() -> Rollback.builder().modelId("llama").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("target version of at least 1, got none");
        assertThatThrownBy(() -> Rollback.builder().modelId("llama").targetVersion(1).waitForWorkers(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs a wait time");
    }

    /** Versions 1 (chunks 0..1) and 2 (chunks 2..3) of llama on chunks partition 0. */
    private static OpsTopics withTwoVersions() {
        OpsTopics kafka = OpsTopics.create(KAFKA);
        KafkaOffsetRange v1 = kafka.writeChunks(0, 2);
        KafkaOffsetRange v2 = kafka.writeChunks(0, 2);
        kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(v1)));
        kafka.write(kafka.entry("llama", 2, 2, "publish", List.of(v2)));
        return kafka;
    }
}
