package io.weightpub.e2e.testutils;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.StreamSupport;

/**
 * A standalone Flink session cluster: a JobManager and TaskManagers, each its own JVM, started
 * with {@code scripts/cluster/start-flink.sh} / {@code start-taskmanager.sh}, jobs submitted
 * through Flink's CLI with {@code submit.sh}, stopped with {@code stop-all.sh}; everything on
 * 127.0.0.1. State is read through the REST API.
 *
 * <pre>{@code
 * try (StandaloneFlinkCluster flink = StandaloneFlinkCluster.builder(work).slotsPerTaskManager(2).start()) {
 *     String jobId = flink.submit(jar, "--bootstrap.servers", kafka.bootstrapServers());
 *     flink.awaitAllTasksRunning(jobId, Duration.ofMinutes(2));
 *     flink.killTaskManager("tm-1");
 *     flink.startTaskManager();
 * }
 * }</pre>
 */
public final class StandaloneFlinkCluster implements AutoCloseable {

    private static final String PART = "flink";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path work;
    private final int restPort;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private boolean closed;

    private StandaloneFlinkCluster(Path work, int restPort) {
        this.work = work;
        this.restPort = restPort;
    }

    public static Builder builder(Path work) {
        return new Builder(work);
    }

    /** Settings of the cluster to start; defaults are start-flink.sh's. */
    public static final class Builder {
        private final Path work;
        private int taskManagers = 1;
        private int slots = 2;
        private String jobManagerMemory;
        private String taskManagerMemory;
        private final Map<String, String> settings = new LinkedHashMap<>();

        private Builder(Path work) {
            this.work = work;
        }

        public Builder taskManagers(int count) {
            if (count < 0) {
                throw new IllegalArgumentException("taskManagers must be >= 0, got " + count);
            }
            this.taskManagers = count;
            return this;
        }

        public Builder slotsPerTaskManager(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("slots must be >= 1, got " + count);
            }
            this.slots = count;
            return this;
        }

        /** Total process memory of the JobManager, e.g. "768m". */
        public Builder jobManagerMemory(String size) {
            this.jobManagerMemory = size;
            return this;
        }

        /** Total process memory of each TaskManager, e.g. "1280m". */
        public Builder taskManagerMemory(String size) {
            this.taskManagerMemory = size;
            return this;
        }

        /** Any Flink setting for config.yaml, e.g. {@code heartbeat.timeout -> 5000}. */
        public Builder setting(String key, String value) {
            settings.put(key, value);
            return this;
        }

        public StandaloneFlinkCluster start() {
            Path libs = ClusterScripts.fetchLibs();
            List<String> args = new ArrayList<>(List.of("--work", work.toString(), "--libs", libs.toString(),
                    "--taskmanagers", String.valueOf(taskManagers), "--slots", String.valueOf(slots)));
            if (jobManagerMemory != null) {
                args.addAll(List.of("--jm-memory", jobManagerMemory));
            }
            if (taskManagerMemory != null) {
                args.addAll(List.of("--tm-memory", taskManagerMemory));
            }
            settings.forEach((key, value) -> args.addAll(List.of("-D", key + "=" + value)));
            ClusterScripts.stopOnExit(work, PART);
            try {
                String output = ClusterScripts.run(Duration.ofMinutes(4), "start-flink.sh", args.toArray(String[]::new));
                URI rest = URI.create(StandaloneKafka.lastLine(output));
                return new StandaloneFlinkCluster(work, rest.getPort());
            } catch (RuntimeException e) {
                ClusterScripts.stop(work, PART);
                throw e;
            }
        }
    }

    public URI restAddress() {
        return URI.create("http://127.0.0.1:" + restPort);
    }

    public int restPort() {
        return restPort;
    }

    public Path workDir() {
        return work;
    }

    /** jobmanager.log, taskmanager-N.log, client-*.out of submissions. */
    public Path logDir() {
        return work.resolve("flink/log");
    }

    /** Submits a jar through Flink's CLI (detached) and returns the job id. */
    public String submit(Path jar, String... programArgs) {
        return submit(jar, Map.of(), List.of(programArgs));
    }

    /**
     * Submits a jar through Flink's CLI with job settings ({@code -D key=value}, e.g.
     * execution.checkpointing.interval) and program arguments; returns the job id.
     */
    public String submit(Path jar, Map<String, String> jobSettings, List<String> programArgs) {
        List<String> options = new ArrayList<>();
        jobSettings.forEach((key, value) -> options.addAll(List.of("-D", key + "=" + value)));
        return submit(jar, options, programArgs.toArray(String[]::new));
    }

    /** Submits a jar with options of submit.sh (e.g. {@code --savepoint PATH}); returns the job id. */
    public String submit(Path jar, List<String> options, String... programArgs) {
        List<String> args = new ArrayList<>(List.of("--work", work.toString(), "--libs",
                ClusterScripts.libsDir().toString()));
        args.addAll(options);
        args.add(jar.toAbsolutePath().toString());
        args.addAll(List.of(programArgs));
        return StandaloneKafka.lastLine(ClusterScripts.run(Duration.ofMinutes(3), "submit.sh", args.toArray(String[]::new)));
    }

    /** Starts one more TaskManager, waits until it has registered, returns its id ("tm-N"). */
    public String startTaskManager() {
        return StandaloneKafka.lastLine(ClusterScripts.run(Duration.ofMinutes(3), "start-taskmanager.sh",
                "--work", work.toString(), "--libs", ClusterScripts.libsDir().toString()));
    }

    /** The pid of a TaskManager this cluster started ("tm-N"). */
    public long taskManagerPid(String taskManagerId) {
        return readPid(taskManagerPidFile(taskManagerId));
    }

    public long jobManagerPid() {
        return readPid(work.resolve("flink/jobmanager.pid"));
    }

    /** The log of a TaskManager ("tm-N"). */
    public Path taskManagerLog(String taskManagerId) {
        return logDir().resolve("taskmanager-" + taskManagerNumber(taskManagerId) + ".log");
    }

    /** Kills a TaskManager with SIGKILL (kill -9): no shutdown, as a crashed machine would. */
    public void killTaskManager(String taskManagerId) {
        long pid = taskManagerPid(taskManagerId);
        ProcessHandle process = ProcessHandle.of(pid)
                .orElseThrow(() -> new IllegalStateException("TaskManager " + taskManagerId + " (pid " + pid + ") is not running"));
        // The scripts mark every JVM with its work folder: never kill a recycled pid.
        String marker = "-Dweightpub.work=" + work;
        boolean ours;
        try {
            ours = List.of(Files.readString(Path.of("/proc/" + pid + "/cmdline")).split("\0")).contains(marker);
        } catch (IOException e) {
            ours = false;
        }
        if (!ours) {
            throw new IllegalStateException("pid " + pid + " is not TaskManager " + taskManagerId + " of " + work);
        }
        process.destroyForcibly(); // SIGKILL on Linux
        process.onExit().join();
        try {
            Files.deleteIfExists(taskManagerPidFile(taskManagerId));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Ids of the TaskManagers the JobManager currently lists. */
    public List<String> registeredTaskManagers() {
        return StreamSupport.stream(get("/taskmanagers").path("taskmanagers").spliterator(), false)
                .map(tm -> tm.path("id").asText())
                .toList();
    }

    /** GET of a REST path (e.g. "/jobs/overview"), parsed. */
    public JsonNode get(String path) {
        HttpRequest request = HttpRequest.newBuilder(restAddress().resolve(path)).timeout(Duration.ofSeconds(10)).GET().build();
        return send(request);
    }

    /** CREATED, RUNNING, RESTARTING, FAILED, FINISHED, CANCELED, ... */
    public String jobStatus(String jobId) {
        return get("/jobs/" + jobId).path("state").asText();
    }

    /** The job is RUNNING and so is every one of its tasks (sources included). */
    public boolean allTasksRunning(String jobId) {
        JsonNode job = get("/jobs/" + jobId);
        if (!"RUNNING".equals(job.path("state").asText())) {
            return false;
        }
        for (JsonNode vertex : job.path("vertices")) {
            JsonNode tasks = vertex.path("tasks");
            int running = tasks.path("RUNNING").asInt();
            if (running != vertex.path("parallelism").asInt()) {
                return false;
            }
        }
        return true;
    }

    public void awaitAllTasksRunning(String jobId, Duration timeout) {
        Waits.untilTrue("all tasks of job " + jobId + " RUNNING", timeout, () -> allTasksRunning(jobId));
    }

    public void awaitJobStatus(String jobId, String status, Duration timeout) {
        Waits.untilTrue("job " + jobId + " " + status, timeout, () -> status.equals(jobStatus(jobId)));
    }

    /** Checkpoint counts of a job, from /jobs/:id/checkpoints. */
    public record CheckpointCounts(long completed, long failed, long inProgress, long restored) {}

    public CheckpointCounts checkpointCounts(String jobId) {
        JsonNode counts = get("/jobs/" + jobId + "/checkpoints").path("counts");
        return new CheckpointCounts(counts.path("completed").asLong(), counts.path("failed").asLong(),
                counts.path("in_progress").asLong(), counts.path("restored").asLong());
    }

    /** Waits until the job has completed at least {@code count} checkpoints. */
    public CheckpointCounts awaitCompletedCheckpoints(String jobId, long count, Duration timeout) {
        return Waits.until(count + " completed checkpoints of job " + jobId, timeout, () -> {
            CheckpointCounts counts = checkpointCounts(jobId);
            return counts.completed() >= count ? Optional.of(counts) : Optional.empty();
        });
    }

    /** How many failures the job has recorded (its exception history). */
    public int failureCount(String jobId) {
        return get("/jobs/" + jobId + "/exceptions").path("exceptionHistory").path("entries").size();
    }

    /** Cancels a job and waits until it is CANCELED. */
    public void cancel(String jobId) {
        HttpRequest request = HttpRequest.newBuilder(restAddress().resolve("/jobs/" + jobId + "?mode=cancel"))
                .timeout(Duration.ofSeconds(10))
                .method("PATCH", HttpRequest.BodyPublishers.noBody())
                .build();
        send(request);
        awaitJobStatus(jobId, "CANCELED", Duration.ofMinutes(1));
    }

    /**
     * Stops a job with a savepoint in {@code directory} (as {@code flink stop --savepointPath} does,
     * without draining), waits until it is FINISHED and returns the savepoint's path.
     */
    public String stopWithSavepoint(String jobId, Path directory) {
        HttpRequest request = HttpRequest.newBuilder(restAddress().resolve("/jobs/" + jobId + "/stop"))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"targetDirectory\":\"" + directory.toAbsolutePath()
                        + "\",\"drain\":false}"))
                .build();
        String trigger = send(request).path("request-id").asText();
        String location = Waits.until("the savepoint of job " + jobId, Duration.ofMinutes(2), () -> {
            JsonNode status = get("/jobs/" + jobId + "/savepoints/" + trigger);
            if (!"COMPLETED".equals(status.path("status").path("id").asText())) {
                return Optional.empty();
            }
            JsonNode operation = status.path("operation");
            if (operation.has("failure-cause")) {
                throw new IllegalStateException("savepoint of job " + jobId + " failed: " + operation);
            }
            return Optional.of(operation.path("location").asText());
        });
        awaitJobStatus(jobId, "FINISHED", Duration.ofMinutes(1));
        return location;
    }

    /** Stops every TaskManager and the JobManager (TERM, KILL after 20 s); logs stay. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            ClusterScripts.stop(work, PART);
        }
    }

    private Path taskManagerPidFile(String taskManagerId) {
        return work.resolve("flink/taskmanager-" + taskManagerNumber(taskManagerId) + ".pid");
    }

    private static String taskManagerNumber(String taskManagerId) {
        if (!taskManagerId.matches("tm-[0-9]+")) {
            throw new IllegalArgumentException("TaskManager ids are tm-<n>, got " + taskManagerId);
        }
        return taskManagerId.substring(3);
    }

    private static long readPid(Path pidFile) {
        try {
            return Long.parseLong(Files.readString(pidFile).trim());
        } catch (IOException e) {
            throw new UncheckedIOException("no pid file " + pidFile + " (not started, or stopped)", e);
        }
    }

    private JsonNode send(HttpRequest request) {
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                throw new IllegalStateException(request.method() + " " + request.uri() + " answered "
                        + response.statusCode() + ": " + response.body());
            }
            return response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(request.method() + " " + request.uri() + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
