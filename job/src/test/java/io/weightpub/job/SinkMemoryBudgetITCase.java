package io.weightpub.job;

import io.weightpub.job.testutils.OutputTopics;
import io.weightpub.job.testutils.RunningJob;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.job.testutils.TrainerTopics;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.sink.SinkOptions;
import io.weightpub.testutils.KafkaClusterExtension;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.client.program.ClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.test.junit5.InjectClusterClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A publish bigger than the workers' memory budget, on the real job: every worker reports it FAILED
 * with the budget as the reason instead of failing its task (which would restart the job on the
 * same record forever), and the next publish that fits becomes active on every worker.
 */
class SinkMemoryBudgetITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @RegisterExtension
    static final MiniClusterExtension FLINK = RunningJob.miniCluster(4);

    private static final String MODEL = "qwen";
    private static final int WORKERS = 2;

    @Test
    void aPublishOverTheSinkBudgetFailsOnEveryWorkerWithoutARestartAndTheNextOneApplies(
            @InjectClusterClient ClusterClient<?> cluster) throws Exception {
        TopicNames topics = TopicNames.of("it-budget");
        Configuration conf = RunningJob.testConfiguration(KAFKA.bootstrapServers(), topics.prefix(), WORKERS);
        // A version may take half of it: 128 KiB.
        conf.set(SinkOptions.MEMORY_MAX_PER_MODEL, MemorySize.parse("256k"));
        try (TrainerTopics trainer = new TrainerTopics(KAFKA.kafka(), topics);
                RunningJob job = RunningJob.start(conf)) {
            RandomPublish tooBig = RandomPublish.create(MODEL, 10, 41, 60, 20_000, 64 * 1024, 8 * 1024);
            RandomPublish fits = RandomPublish.create(MODEL, 11, 42, 6, 8_000, 64 * 1024, 8 * 1024);
            assertThat(tooBig.totalBytes()).isGreaterThan(128 * 1024);
            assertThat(fits.totalBytes()).isLessThan(128 * 1024);

            trainer.publish(tooBig);
            OutputTopics out = new OutputTopics(KAFKA.kafka(), topics);
            List<WorkerStatus> statuses = out.awaitStatuses("every worker reports the publish over budget FAILED",
                    all -> failedCommitWorkers(all, tooBig.publishId()).size() == WORKERS);
            trainer.publish(fits);
            job.awaitVersionOnAllWorkers(MODEL, 2);

            for (int worker = 0; worker < WORKERS; worker++) {
                assertThat(job.activeBytes(worker, MODEL)).as("worker %d", worker).isEqualTo(fits.expectedBytes());
                assertThat(job.store(worker).orElseThrow().status(MODEL).active().orElseThrow().publishId())
                        .isEqualTo(fits.publishId());
            }
            assertThat(statuses).filteredOn(s -> s.getWorker() >= 0 && s.getState() == VersionState.FAILED
                            && s.getPublishId().equals(tooBig.publishId()))
                    .allSatisfy(s -> assertThat(s.getMessage()).contains("memory budget"));
            assertThat(job.client().getJobStatus().get(10, TimeUnit.SECONDS)).isEqualTo(JobStatus.RUNNING);
            URI exceptions = URI.create(cluster.getWebInterfaceURL() + "/jobs/" + job.client().getJobID()
                    + "/exceptions");
            String history = HttpClient.newHttpClient().send(HttpRequest.newBuilder(exceptions).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(history).as("the job's exception history").contains("\"entries\":[]");
        }
    }

    /** Workers that reported the commit of {@code publishId} FAILED. */
    private static Set<Integer> failedCommitWorkers(List<WorkerStatus> statuses, String publishId) {
        return statuses.stream()
                .filter(s -> s.getWorker() >= 0 && s.getState() == VersionState.FAILED && s.getVersion() >= 0
                        && s.getPublishId().equals(publishId))
                .map(WorkerStatus::getWorker)
                .collect(Collectors.toSet());
    }
}
