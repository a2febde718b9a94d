package io.weightpub.sink.internal;

import io.weightpub.sink.CommitMode;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.WeightStore;
import io.weightpub.testutils.TestVersion;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A worker's lifecycle across writer restarts and jobs in one JVM: a failed task frees its fixed
 * port but keeps the store for its restart; a writer of another job (a resubmit) releases what the
 * old job left; a job's release hook frees only that job's workers.
 */
class WorkerLifecycleTest {

    private static final String MODEL = "org/llm";
    private static final String SINK = "lifecycle";

    @AfterEach
    void release() {
        WeightSink.release(SINK);
    }

    @Test
    void aClosedWriterFreesItsFixedPortAndItsRestartServesTheSameStoreOnIt() throws Exception {
        int port = freePort();
        WeightSink sink = sink(port);
        WeightSinkWriter writer = writer(sink, "job-a");
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, 64 * 1024);
        v1.events(16 * 1024).forEach(e -> writer.write(e, null));
        WeightStore store = WeightSink.store(SINK, 0).orElseThrow();

        writer.close(); // the task failed or was cancelled

        assertPortFree(port);
        assertThat(WeightSink.store(SINK, 0)).containsSame(store);
        writer(sink, "job-a"); // restarted within the job
        assertThat(WeightSink.store(SINK, 0)).containsSame(store);
        URI uri = WeightSink.workerUri(SINK, 0).orElseThrow();
        assertThat(uri.getPort()).isEqualTo(port);
        String status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri.resolve("/status")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertThat(status).contains("\"activeVersion\":1");
    }

    @Test
    void aWriterOfAnotherJobReleasesTheWorkerTheOldJobLeftAndStartsFromFreeMemory() throws Exception {
        int port = freePort();
        WeightSink sink = sink(port);
        WeightSinkWriter old = writer(sink, "job-a");
        TestVersion.of(MODEL, 1, 2, 64 * 1024).events(16 * 1024).forEach(e -> old.write(e, null));
        WeightStore oldStore = WeightSink.store(SINK, 0).orElseThrow();
        assertThat(oldStore.memory().slotBytes()).isPositive();

        writer(sink, "job-b"); // resubmitted before job-a's release hook ran here

        assertThat(oldStore.memory().holdsNothing()).isTrue();
        WeightStore fresh = WeightSink.store(SINK, 0).orElseThrow();
        assertThat(fresh).isNotSameAs(oldStore);
        assertThat(fresh.status(MODEL).active()).isEmpty();
        assertThat(WeightSink.workerUri(SINK, 0).orElseThrow().getPort()).isEqualTo(port);
    }

    @Test
    void aJobsReleaseHookFreesItsWorkersButNotThoseOfAJobThatTookOver() {
        WeightSink sink = sink(0);
        writer(sink, "job-b");
        WeightStore store = WeightSink.store(SINK, 0).orElseThrow();

        assertThat(WorkerRegistry.releaseJob(SINK, "job-a")).isZero(); // the old job's hook, late
        assertThat(WeightSink.store(SINK, 0)).containsSame(store);
        assertThat(WorkerRegistry.releaseJob(SINK, "job-b")).isOne();
        assertThat(WeightSink.store(SINK, 0)).isEmpty();
    }

    @Test
    void aWorkerWhoseInputEndedStaysServedAfterItsJob() {
        WeightSink sink = sink(0);
        WeightSinkWriter writer = writer(sink, "job-a");
        TestVersion.of(MODEL, 1, 2, 64 * 1024).events(16 * 1024).forEach(e -> writer.write(e, null));

        writer.flush(true);
        writer.close();

        assertThat(WorkerRegistry.releaseJob(SINK, "job-a")).isZero();
        assertThat(WeightSink.store(SINK, 0).orElseThrow().status(MODEL).active().map(VersionInfo::version))
                .hasValue(1L);
        assertThat(WeightSink.workerUri(SINK, 0)).isPresent();
    }

    private static WeightSink sink(int port) {
        return WeightSink.builder().name(SINK).backend(StoreBackend.HOST).commitMode(CommitMode.IMMEDIATE)
                .workerHttp(true).httpBasePort(port).build();
    }

    private static WeightSinkWriter writer(WeightSink sink, String jobId) {
        return new WeightSinkWriter(sink.workerSettings(), 0, jobId, OptionalLong.empty(), List.of(),
                UnregisteredMetricsGroup.createSinkWriterMetricGroup());
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static void assertPortFree(int port) throws IOException {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertThat(socket.getLocalPort()).isEqualTo(port);
        }
    }
}
