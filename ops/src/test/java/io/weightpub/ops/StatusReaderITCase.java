package io.weightpub.ops;

import io.weightpub.ops.testutils.OpsTopics;
import io.weightpub.schemas.VersionState;
import io.weightpub.testutils.KafkaClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import static io.weightpub.ops.testutils.OpsTopics.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

class StatusReaderITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @Test
    void latestRecordGivesTheStateAndEarlierRecordsTheActiveVersionAndLastError() {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            kafka.write(status("llama", 0, VersionState.STAGED, 1, 1, "p1", "staged"));
            kafka.write(status("llama", 0, VersionState.COMMITTED, 1, 1, "p1", "committed"));
            kafka.write(status("llama", 0, VersionState.FAILED, 2, 2, "p2", "bucket 3 digest mismatch"));
            kafka.write(status("llama", 0, VersionState.ACTIVE, 3, 1, "p1", "active"));
            kafka.write(status("llama", 0, VersionState.STAGED, 4, 4, "p4", "staging"));

            WorkerState worker = new StatusReader(kafka.connection(), kafka.topics()).read()
                    .find("llama", 0).orElseThrow();

            assertThat(worker.state()).isEqualTo(VersionState.STAGED);
            assertThat(worker.version()).isEqualTo(4);
            assertThat(worker.message()).isEqualTo("staging");
            assertThat(worker.activeVersion()).isEqualTo(3);
            assertThat(worker.activeContentVersion()).isEqualTo(1);
            assertThat(worker.stagedPublish()).isEqualTo("p4");
            assertThat(worker.lastError()).isEqualTo("bucket 3 digest mismatch");
            assertThat(worker.lastErrorAtMs()).isPositive();
        }
    }

    @Test
    void jobsActiveVersionIsItsLatestCompletedVersionAndNothingIsStagedAfterACommit() {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            kafka.write(status("llama", WorkerState.JOB, VersionState.COMPLETED, 1, 1, "p1", "published"));
            kafka.write(status("llama", WorkerState.JOB, VersionState.REJECTED, -1, -1, "p0", "stale step"));
            kafka.write(status("llama", 1, VersionState.STAGED, 1, 1, "p1", ""));
            kafka.write(status("llama", 1, VersionState.COMMITTED, 1, 1, "p1", ""));

            StatusReport report = new StatusReader(kafka.connection(), kafka.topics()).read();

            WorkerState job = report.find("llama", WorkerState.JOB).orElseThrow();
            assertThat(job.isJob()).isTrue();
            assertThat(job.state()).isEqualTo(VersionState.REJECTED);
            assertThat(job.activeVersion()).isEqualTo(1);
            assertThat(job.lastError()).isEmpty();
            assertThat(job.lastErrorAtMs()).isEqualTo(-1);
            WorkerState worker = report.find("llama", 1).orElseThrow();
            assertThat(worker.activeVersion()).isEqualTo(1);
            assertThat(worker.stagedPublish()).isEmpty();
        }
    }

    @Test
    void listsEveryModelAndWorkerInOrderAndFiltersByModel() {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            kafka.write(status("qwen", 0, VersionState.ACTIVE, 7, 7, "q7", ""));
            kafka.write(status("llama", 1, VersionState.ACTIVE, 2, 2, "p2", ""));
            kafka.write(status("llama", 0, VersionState.ACTIVE, 2, 2, "p2", ""));
            kafka.write(status("llama", WorkerState.JOB, VersionState.COMPLETED, 2, 2, "p2", ""));
            StatusReader reader = new StatusReader(kafka.connection(), kafka.topics());

            assertThat(reader.read().workers()).extracting(WorkerState::modelId, WorkerState::worker)
                    .containsExactly(tuple("llama", -1), tuple("llama", 0), tuple("llama", 1), tuple("qwen", 0));
            assertThat(reader.read(Optional.of("qwen")).workers()).extracting(WorkerState::modelId, WorkerState::worker)
                    .containsExactly(tuple("qwen", 0));
        }
    }

    @Test
    void undecodableRecordIsReportedWithItsCoordinates() {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            kafka.write(status("llama", 0, VersionState.ACTIVE, 1, 1, "p1", ""));
            kafka.writeRaw(kafka.topics().status(), "llama/0", "garbage".getBytes(StandardCharsets.UTF_8));

            StatusReport report = new StatusReader(kafka.connection(), kafka.topics()).read();

            assertThat(report.workers()).singleElement().extracting(WorkerState::state).isEqualTo(VersionState.ACTIVE);
            assertThat(report.skipped()).singleElement().asString()
                    .startsWith(kafka.topics().status() + "-0@1: WorkerStatus does not decode:");
        }
    }
}
