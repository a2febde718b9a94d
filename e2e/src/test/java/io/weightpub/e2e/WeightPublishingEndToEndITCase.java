package io.weightpub.e2e;

import io.weightpub.e2e.testutils.ClusterScripts;
import io.weightpub.e2e.testutils.StandaloneFlinkCluster;
import io.weightpub.e2e.testutils.StandaloneKafka;
import io.weightpub.e2e.testutils.Waits;
import io.weightpub.publisher.PublishEncoder;
import io.weightpub.publisher.PublishRecords;
import io.weightpub.publisher.SafetensorsCheckpoint;
import io.weightpub.publisher.SyntheticCheckpoint;
import io.weightpub.publisher.TensorSource;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.WorkerStatus;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job as users run it: a standalone broker and a standalone Flink session cluster started from
 * Maven jars by the scripts, the shaded job jar submitted through Flink's CLI, versions published
 * by the publisher's CLI, and the workers read over their reference-worker HTTP endpoints. A
 * TaskManager is killed with SIGKILL in the middle of a version (its weight stores die with it)
 * while two source subtasks check its chunks in parallel,
 * and the broker is restarted in the middle of another.
 */
@Tag("e2e")
class WeightPublishingEndToEndITCase {

    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final String PREFIX = "e2e";
    private static final String MODEL = "tiny-llm";
    private static final int WORKERS = 2;
    private static final int JOB_PARALLELISM = 2;
    private static final long CHECKPOINT_BYTES = 6L << 20;
    private static final int CHUNK_SIZE = 64 * 1024;
    private static final Pattern VERSION = Pattern.compile("\"version\":(\\d+)");
    private static final Pattern SHA256 = Pattern.compile("\"sha256\":\"([0-9a-f]{64})\"");

    private final HttpClient http = HttpClient.newHttpClient();
    private StandaloneKafka kafka;
    private StandaloneFlinkCluster flink;
    private int workerBasePort;
    private Path work;

    @BeforeEach
    void startClusters() throws IOException {
        work = ClusterScripts.newWorkDir("weightpub-e2e");
        kafka = StandaloneKafka.start(work.resolve("broker"));
        kafka.createWeightpubTopics(PREFIX);
        flink = StandaloneFlinkCluster.builder(work.resolve("flink"))
                .taskManagers(1)
                .slotsPerTaskManager(WORKERS)
                .jobManagerMemory("640m")
                .taskManagerMemory("1280m")
                // Notice the killed TaskManager within seconds, not the default 50 s; not so soon that a
                // busy CI machine's GC or scheduling pauses look like a loss.
                .setting("heartbeat.interval", "1000")
                .setting("heartbeat.timeout", "15000")
                .start();
        workerBasePort = freePortPair();
    }

    @AfterEach
    void stopClusters() {
        if (flink != null) {
            flink.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void taskManagerKilledMidVersionIsReplacedAndEveryWorkerEndsBitExactWithEachVersionAppliedOnce()
            throws Exception {
        String jobId = submitJob();
        Checkpoint v1 = checkpoint(1);
        publishWithCli(v1);
        awaitWorkersServe(v1, 1);

        Checkpoint v2 = checkpoint(2);
        List<ProducerRecord<byte[], byte[]>> v2Records = encode(v2);
        int half = v2Records.size() / 2;
        send(v2Records.subList(0, half));
        Waits.untilTrue("every worker staged the first half of version 2", TIMEOUT,
                () -> workerStates(v2.publishId, VersionState.STAGED).size() == WORKERS);
        // The next checkpoint to complete may have started before the chunks were staged; the one
        // after it started after, so it holds the half-staged publish.
        long completed = checkpointCounts(jobId).completed();
        flink.awaitCompletedCheckpoints(jobId, completed + 2, TIMEOUT);

        flink.killTaskManager("tm-1");
        Waits.untilTrue("tm-1 to be dropped by the JobManager", TIMEOUT,
                () -> !flink.registeredTaskManagers().contains("tm-1"));
        long replacementStarted = System.nanoTime();
        flink.startTaskManager();
        flink.awaitAllTasksRunning(jobId, TIMEOUT);
        awaitWorkersServeAtLeast(1);
        // Recovery time: from starting the replacement TaskManager until every worker serves again
        // (restored from Kafka, since the killed TaskManager took the weight stores with it).
        System.out.printf("recovery after TaskManager loss: %.1f s until every worker served version 1 again%n",
                (System.nanoTime() - replacementStarted) / 1e9);
        send(v2Records.subList(half, v2Records.size()));
        awaitWorkersServe(v2, 2);

        Checkpoint v3 = checkpoint(3);
        publishWithCli(v3);
        awaitWorkersServe(v3, 3);

        assertThat(checkpointCounts(jobId).restored()).as("restores from a checkpoint").isGreaterThanOrEqualTo(1);
        assertIndexMapsEachVersionToOnePublish(Map.of(1L, v1.publishId, 2L, v2.publishId, 3L, v3.publishId));
        for (Checkpoint version : List.of(v1, v2, v3)) {
            // Workers send the record after the flip, asynchronously: serving a version comes first.
            Waits.untilTrue("every worker reports version " + version.step + " committed", TIMEOUT,
                    () -> workerStates(version.publishId, VersionState.COMMITTED).size() == WORKERS);
        }

        // The operator's view and a rollback, through the ops commands of the CLI.
        String versions = weightpub("versions", "--bootstrap-servers", kafka.bootstrapServers(),
                "--topic-prefix", PREFIX, "--model", MODEL);
        assertThat(versions).contains(v1.publishId, v2.publishId, v3.publishId);
        String rollback = weightpub("rollback", "--bootstrap-servers", kafka.bootstrapServers(),
                "--topic-prefix", PREFIX, "--model", MODEL, "--to", "2", "--reason", "e2e", "--wait", "120",
                "--workers", String.valueOf(WORKERS));
        assertThat(rollback).contains("rolled back to the content of version 2 as version 4");
        awaitWorkersServe(v2, 4);
    }

    @Test
    void brokerRestartedMidVersionLosesNothingAndTheVersionCompletes() throws Exception {
        submitJob();
        Checkpoint v1 = checkpoint(1);
        publishWithCli(v1);
        awaitWorkersServe(v1, 1);

        Checkpoint v2 = checkpoint(2);
        List<ProducerRecord<byte[], byte[]>> v2Records = encode(v2);
        int half = v2Records.size() / 2;
        send(v2Records.subList(0, half));
        kafka.restart();
        send(v2Records.subList(half, v2Records.size()));
        awaitWorkersServe(v2, 2);

        assertIndexMapsEachVersionToOnePublish(Map.of(1L, v1.publishId, 2L, v2.publishId));
    }

    @Test
    void stopWithSavepointReleasesTheWorkersAndTheResubmittedJobBindsTheirPortsAndApplies() throws Exception {
        String jobId = submitJob();
        Checkpoint v1 = checkpoint(1);
        publishWithCli(v1);
        awaitWorkersServe(v1, 1);
        long taskManager = flink.taskManagerPid("tm-1");
        long workerThreads = workerThreads(taskManager);

        // The documented path after a JobManager restart: stop with a savepoint, then resubmit from it.
        String savepoint = flink.stopWithSavepoint(jobId, work.resolve("savepoints"));
        Waits.untilTrue("the stopped job's workers released: ports free, no worker threads", TIMEOUT,
                () -> isFree(workerBasePort) && isFree(workerBasePort + 1) && workerThreads(taskManager) == 0);
        submitJob(savepoint);
        awaitWorkersServe(v1, 1); // the new job's workers restored version 1 from Kafka
        Checkpoint v2 = checkpoint(2);
        publishWithCli(v2);
        awaitWorkersServe(v2, 2);

        assertThat(workerThreads(taskManager)).as("reference-worker threads").isLessThanOrEqualTo(workerThreads);
    }

    /** Threads of the reference workers in a process (Linux names threads by their first 15 characters). */
    private static long workerThreads(long pid) {
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            return tasks.filter(task -> {
                try {
                    return Files.readString(task.resolve("comm")).startsWith("weightpub-worke");
                } catch (IOException gone) {
                    return false;
                }
            }).count();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- the job and the trainer

    private String submitJob() {
        return submitJob(null);
    }

    private String submitJob(String savepoint) {
        List<String> cli = new ArrayList<>();
        if (savepoint != null) {
            cli.addAll(List.of("--savepoint", savepoint));
        }
        String jobId = flink.submit(ClusterScripts.jobJar(), cli,
                "--bootstrap.servers", kafka.bootstrapServers(),
                "--topic.prefix", PREFIX,
                "--workers", String.valueOf(WORKERS),
                // Two source readers and chunk checkers: the kill and the broker restart hit a
                // version whose chunks are checked in parallel.
                "--parallelism", String.valueOf(JOB_PARALLELISM),
                "--checkpoint.interval", "1 s",
                "--weightpub.sink.backend", "HOST",
                "--weightpub.sink.slots-per-model", "3",
                "--weightpub.sink.worker-http.enabled", "true",
                "--weightpub.sink.worker-http.base-port", String.valueOf(workerBasePort));
        flink.awaitAllTasksRunning(jobId, TIMEOUT);
        return jobId;
    }

    /** A synthetic checkpoint on disk, its tensors and the publish id it will carry. */
    private static final class Checkpoint {
        final long step;
        final Path dir;
        final Map<String, String> tensorSha256 = new HashMap<>();
        /** Set when it is published. */
        String publishId;

        Checkpoint(long step, Path dir) {
            this.step = step;
            this.dir = dir;
        }
    }

    /** A checkpoint per step, generated by the CLI with the step as seed. */
    private Checkpoint checkpoint(long step) throws Exception {
        Path dir = work.resolve("checkpoint-" + step);
        weightpub("generate", dir.toString(),
                "--target-size", String.valueOf(CHECKPOINT_BYTES), "--seed", String.valueOf(step));
        Checkpoint checkpoint = new Checkpoint(step, dir);
        try (SafetensorsCheckpoint files = SafetensorsCheckpoint.open(dir)) {
            for (TensorSource tensor : files.tensors()) {
                checkpoint.tensorSha256.put(tensor.name(), sha256(tensor));
            }
        }
        return checkpoint;
    }

    private void publishWithCli(Checkpoint checkpoint) throws Exception {
        String summary = weightpub("publish", checkpoint.dir.toString(),
                "--model", MODEL, "--step", String.valueOf(checkpoint.step),
                "--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix", PREFIX,
                "--chunk-size", String.valueOf(CHUNK_SIZE), "--bucket-size", "2MiB", "--no-progress");
        Matcher published = Pattern.compile("publish=([0-9a-f-]{36})").matcher(summary);
        assertThat(published.find()).as("the CLI's summary names the publish: %s", summary).isTrue();
        checkpoint.publishId = published.group(1);
    }

    /**
     * Runs the {@code weightpub} command line (bin/weightpub) and returns its output (standard output
     * and error). The output goes to a file in the work folder: reading a pipe to its end would
     * block until the process exits, and a hung command would never reach the timeout.
     */
    private String weightpub(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", "bin/weightpub"));
        command.addAll(List.of(args));
        Path log = Files.createTempFile(work, "weightpub-" + args[0] + "-", ".out");
        Process process = new ProcessBuilder(command)
                .directory(ClusterScripts.repoRoot().toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
        boolean exited = process.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (!exited) {
            process.destroyForcibly().waitFor();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        if (!exited || process.exitValue() != 0) {
            throw new AssertionError("weightpub " + String.join(" ", args)
                    + (exited ? " failed" : " did not finish within " + TIMEOUT) + ":\n" + output);
        }
        return output;
    }

    /** The records of a publish, encoded in the test so it can send them in two halves. */
    private List<ProducerRecord<byte[], byte[]>> encode(Checkpoint checkpoint) throws IOException {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        TopicNames topics = TopicNames.of(PREFIX);
        checkpoint.publishId = java.util.UUID.randomUUID().toString();
        try (SafetensorsCheckpoint files = SafetensorsCheckpoint.open(checkpoint.dir)) {
            PublishEncoder encoder = PublishEncoder.builder()
                    .modelId(MODEL)
                    .step(checkpoint.step)
                    .publishId(checkpoint.publishId)
                    .tensors(files.tensors())
                    .bucketSizeBytes(2L << 20)
                    .chunkSizeBytes(CHUNK_SIZE)
                    .build();
            for (Iterator<WeightChunk> it = encoder.chunks(); it.hasNext(); ) {
                records.add(PublishRecords.chunkRecord(topics, it.next()));
            }
            records.add(PublishRecords.manifestRecord(topics, encoder.manifest()));
        }
        return records;
    }

    private void send(List<ProducerRecord<byte[], byte[]>> records) throws Exception {
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (ProducerRecord<byte[], byte[]> record : records) {
                producer.send(record).get();
            }
        }
    }

    // ---------------------------------------------------------------- what the workers serve

    /** Waits until every worker serves {@code version} and checks every tensor against the files. */
    private void awaitWorkersServe(Checkpoint checkpoint, long version) throws Exception {
        awaitWorkersServeAtLeast(version);
        for (int worker = 0; worker < WORKERS; worker++) {
            URI base = URI.create("http://127.0.0.1:" + (workerBasePort + worker));
            for (Map.Entry<String, String> tensor : checkpoint.tensorSha256.entrySet()) {
                String body = get(base.resolve("/models/" + MODEL + "/tensors/"
                        + java.net.URLEncoder.encode(tensor.getKey(), StandardCharsets.UTF_8) + "/sha256"));
                Matcher served = VERSION.matcher(body);
                Matcher digest = SHA256.matcher(body);
                assertThat(served.find() && digest.find()).as(body).isTrue();
                assertThat(Long.parseLong(served.group(1))).as("version of %s on worker %d", tensor.getKey(), worker)
                        .isEqualTo(version);
                assertThat(digest.group(1)).as("%s on worker %d", tensor.getKey(), worker).isEqualTo(tensor.getValue());
            }
        }
    }

    private void awaitWorkersServeAtLeast(long version) {
        for (int worker = 0; worker < WORKERS; worker++) {
            URI uri = URI.create("http://127.0.0.1:" + (workerBasePort + worker) + "/models/" + MODEL + "/sha256");
            Waits.untilTrue(uri + " serves version " + version + " or later", TIMEOUT,
                    () -> servedVersion(uri) >= version);
        }
    }

    private long servedVersion(URI uri) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10))
                    .GET().build(), HttpResponse.BodyHandlers.ofString());
            Matcher version = VERSION.matcher(response.body());
            return response.statusCode() == 200 && version.find() ? Long.parseLong(version.group(1)) : -1;
        } catch (IOException e) {
            return -1; // the worker is not up (yet, or any more)
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private String get(URI uri) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET()
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("GET %s: %s", uri, response.body()).isEqualTo(200);
        return response.body();
    }

    /** The job's checkpoint counts; a REST call that fails now and then is retried. */
    private StandaloneFlinkCluster.CheckpointCounts checkpointCounts(String jobId) {
        return Waits.until("the checkpoint counts of job " + jobId, TIMEOUT,
                () -> Optional.of(flink.checkpointCounts(jobId)));
    }

    // ---------------------------------------------------------------- what the topics say

    private Set<Integer> workerStates(String publishId, VersionState state) {
        return readAll(TopicNames.of(PREFIX).status(), WireCodec.STATUS).stream()
                .filter(s -> s.getWorker() >= 0 && s.getPublishId().equals(publishId) && s.getState() == state)
                .map(WorkerStatus::getWorker)
                .collect(Collectors.toSet());
    }

    private void assertIndexMapsEachVersionToOnePublish(Map<Long, String> expected) {
        Map<Long, Set<String>> publishes = new HashMap<>();
        for (VersionIndexEntry entry : readAll(TopicNames.of(PREFIX).versions(), WireCodec.VERSION_INDEX)) {
            if (entry.getModelId().equals(MODEL)) {
                publishes.computeIfAbsent(entry.getVersion(), v -> new HashSet<>()).add(entry.getPublishId());
            }
        }
        Map<Long, Set<String>> wanted = new HashMap<>();
        expected.forEach((version, publishId) -> wanted.put(version, Set.of(publishId)));
        assertThat(publishes).isEqualTo(wanted);
    }

    private <T extends org.apache.avro.specific.SpecificRecord> List<T> readAll(String topic, WireCodec<T> codec) {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<T> values = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic)) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.currentTimeMillis() + 30_000;
            while (System.currentTimeMillis() < deadline
                    && partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    try {
                        values.add(codec.decode(record.value()));
                    } catch (WireFormatException e) {
                        throw new AssertionError(topic + " offset " + record.offset() + " does not decode", e);
                    }
                }
            }
        }
        return values;
    }

    private static String sha256(TensorSource tensor) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
        for (long offset = 0; offset < tensor.byteSize(); ) {
            buffer.clear();
            buffer.limit((int) Math.min(buffer.capacity(), tensor.byteSize() - offset));
            tensor.read(offset, buffer);
            buffer.flip();
            offset += buffer.remaining();
            digest.update(buffer);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /**
     * The first of two adjacent free ports for the workers' HTTP endpoints. They are bound only later,
     * by the TaskManager: taken from 20000-31999 as the cluster scripts' free_port does, below the
     * ephemeral range, so that no outgoing connection gets one of them in the meantime.
     */
    private static int freePortPair() throws IOException {
        Random random = new Random();
        for (int attempt = 0; attempt < 500; attempt++) {
            int port = 20000 + random.nextInt(12000 - 1);
            if (isFree(port) && isFree(port + 1)) {
                return port;
            }
        }
        throw new IOException("no two adjacent free ports in 20000-31999 on 127.0.0.1");
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException taken) {
            return false;
        }
    }
}
