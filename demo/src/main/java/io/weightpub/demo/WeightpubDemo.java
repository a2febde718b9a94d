package io.weightpub.demo;

import io.weightpub.job.JobOptions;
import io.weightpub.job.WeightPublishingJob;
import io.weightpub.ops.ControlClient;
import io.weightpub.ops.KafkaConnection;
import io.weightpub.ops.TopicAdmin;
import io.weightpub.ops.TopicSettings;
import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.SafetensorsCheckpoint;
import io.weightpub.publisher.SyntheticCheckpoint;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.publisher.cli.ProgressBar;
import io.weightpub.schemas.TopicNames;
import io.weightpub.sink.CommitMode;
import io.weightpub.sink.SinkOptions;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.ActiveVersion;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.testutils.EmbeddedKafka;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * README command 1: a trainer publishes several versions of a synthetic LLM checkpoint into an
 * in-process Kafka broker; the weight publishing job on a Flink MiniCluster reassembles and
 * versions them; every worker stages, verifies and flips each version (on the GPU when there is
 * one, else in host memory) while readers check that no worker ever serves a mixed version.
 */
public final class WeightpubDemo {

    private static final String MODEL = "demo-llm";
    private static final String SINK = "demo";
    private static final long BUCKET_SIZE = 64L << 20;

    private final DemoSettings settings;
    private final PrintStream out;

    private WeightpubDemo(DemoSettings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(DemoSettings.USAGE);
            return;
        }
        DemoSettings settings;
        try {
            settings = DemoSettings.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("demo: " + e.getMessage());
            System.err.println(DemoSettings.USAGE);
            System.exit(2);
            return;
        }
        boolean ok = new WeightpubDemo(settings, System.out).run();
        System.exit(ok ? 0 : 1);
    }

    private boolean run() throws Exception {
        Path work = Files.createTempDirectory("weightpub-demo");
        out.println("weightpub demo: trainer -> Kafka -> Flink -> " + settings.workers() + " inference workers");
        try (EmbeddedKafka kafka = quietly(EmbeddedKafka::start)) {
            TopicNames topics = TopicNames.of("demo");
            KafkaConnection connection = KafkaConnection.builder().bootstrapServers(kafka.bootstrapServers()).build();
            TopicAdmin.create(connection, topics, TopicSettings.bundled());
            out.printf("  kafka     in-process KRaft broker at %s (topics %s.*)%n", kafka.bootstrapServers(),
                    topics.prefix());
            JobClient job = startJob(kafka, topics);
            try {
                List<URI> workers = awaitWorkers();
                WeightStore first = WeightSink.store(SINK, 0).orElseThrow();
                out.printf("  flink     MiniCluster, job %s, %d worker subtasks, checkpoint every %d ms%n",
                        job.getJobID(), settings.workers(), settings.checkpointInterval().toMillis());
                out.printf("  workers   %s; reference workers at %s%n", first.describe(), workers);
                out.println();
                return publishVersions(kafka, connection, topics, workers);
            } finally {
                job.cancel().get(30, TimeUnit.SECONDS);
                WeightSink.release(SINK);
            }
        } finally {
            deleteRecursively(work);
        }
    }

    private boolean publishVersions(EmbeddedKafka kafka, KafkaConnection connection, TopicNames topics,
            List<URI> workers) throws Exception {
        List<VersionRun> runs = new ArrayList<>();
        Map<Long, String> digests = new java.util.HashMap<>();
        List<String> rollbacks = new ArrayList<>();
        Path checkpoints = Files.createTempDirectory("weightpub-demo-checkpoints");
        try (ConsistencyProbe probe = new ConsistencyProbe(workers, MODEL);
                WeightPublisher publisher = WeightPublisher.builder()
                        .bootstrapServers(kafka.bootstrapServers())
                        .topicPrefix(topics.prefix())
                        .bucketSizeBytes(BUCKET_SIZE)
                        .progressListener(ProgressBar.forConsole(new PrintWriter(out, true)))
                        .build()) {
            for (int v = 1; v <= settings.versions(); v++) {
                long step = 1000L + 10 * v;
                Path dir = checkpoints.resolve("step-" + step);
                long generateStart = System.nanoTime();
                SyntheticCheckpoint.builder().targetBytes(settings.modelBytes()).seed(step).build().write(dir);
                try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir)) {
                    String expected = HexFormat.of().formatHex(
                            ExpectedContent.sha256(checkpoint.tensors(), BUCKET_SIZE));
                    probe.expect(v, expected);
                    digests.put((long) v, expected);
                    out.printf("version %d  step %d  %d tensors, %s  (generated in %.1f s)%n", v, step,
                            checkpoint.tensors().size(), mib(checkpoint.tensorBytes()),
                            (System.nanoTime() - generateStart) / 1e9);
                    long publishStart = System.nanoTime();
                    PublishResult result = publisher.publish(MODEL, step, checkpoint);
                    long manifestSent = System.nanoTime();
                    awaitVersion(v);
                    long active = System.nanoTime();
                    VersionRun run = new VersionRun(v, result.bytes(), result.megabytesPerSecond(),
                            (manifestSent - publishStart) / 1e9, (active - manifestSent) / 1e6,
                            (active - publishStart) / 1e9);
                    runs.add(run);
                    out.printf("  active on %d/%d workers %.0f ms after the manifest; sha256 %s... verified by the "
                            + "workers against the manifest and by the demo against the files%n%n",
                            settings.workers(), settings.workers(), run.manifestToActiveMs,
                            expected.substring(0, 12));
                    checkWorkersServe(v, expected);
                }
                deleteRecursively(dir);
            }
            if (settings.versions() >= 3) {
                try (ControlClient control = new ControlClient(connection, topics)) {
                    long next = settings.versions() + 1;
                    rollbacks.add(rollBack(control, probe, digests, settings.versions() - 1, next,
                            "the previous version, still resident"));
                    rollbacks.add(rollBack(control, probe, digests, 1, next + 1,
                            "the first version, evicted: replayed from Kafka"));
                }
            }
            Thread.sleep(300);
            probe.close();
            printSummary(runs, rollbacks, probe);
            return probe.mismatches() == 0;
        } finally {
            deleteRecursively(checkpoints);
        }
    }

    /** Rolls the model back to {@code target}, which becomes {@code version}; returns the summary line. */
    private String rollBack(ControlClient control, ConsistencyProbe probe, Map<Long, String> digests, long target,
            long version, String what) throws InterruptedException {
        String expected = digests.get(target);
        probe.expect(version, expected);
        digests.put(version, expected);
        out.printf("rollback to version %d (%s)%n", target, what);
        long start = System.nanoTime();
        control.rollback(MODEL, target, "demo: " + what);
        awaitVersion(version);
        double ms = (System.nanoTime() - start) / 1e6;
        checkWorkersServe(version, expected);
        out.printf(Locale.ROOT, "  version %d carries version %d's content on %d/%d workers, %.0f ms after the "
                + "control record%n%n", version, target, settings.workers(), settings.workers(), ms);
        return String.format(Locale.ROOT, "to version %d as version %d: %.0f ms (%s)", target, version, ms, what);
    }

    private void checkWorkersServe(long version, String expectedSha256) {
        for (int worker = 0; worker < settings.workers(); worker++) {
            WeightStore store = WeightSink.store(SINK, worker).orElseThrow();
            try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
                String served = HexFormat.of().formatHex(lease.sha256(0, lease.info().sizeBytes()));
                if (lease.info().version() == version && !served.equals(expectedSha256)) {
                    throw new IllegalStateException("worker " + worker + " serves version " + version
                            + " with sha256 " + served + ", the checkpoint has " + expectedSha256);
                }
            }
        }
    }

    private void printSummary(List<VersionRun> runs, List<String> rollbacks, ConsistencyProbe probe) {
        long bytes = runs.stream().mapToLong(r -> r.bytes).sum();
        double seconds = runs.stream().mapToDouble(r -> r.publishToActiveSeconds).sum();
        List<Double> latencies = new ArrayList<>();
        runs.forEach(r -> latencies.add(r.manifestToActiveMs));
        Collections.sort(latencies);
        out.println("summary");
        out.printf("  versions applied      %d of %d, on every one of %d workers%n", runs.size(), settings.versions(),
                settings.workers());
        out.printf("  bytes per version     %s (%s in all)%n", mib(runs.isEmpty() ? 0 : runs.get(0).bytes), mib(bytes));
        out.printf(Locale.ROOT, "  publish -> active     %.2f GB/s end to end (trainer to every worker)%n",
                bytes / 1e9 / Math.max(seconds, 1e-9));
        out.printf(Locale.ROOT, "  publisher            %.0f MB/s median%n",
                median(runs.stream().map(r -> r.publishMegabytesPerSecond).toList()));
        out.printf(Locale.ROOT, "  manifest -> active    median %.0f ms, max %.0f ms (includes the checkpoint that "
                + "commits the flip)%n", median(latencies), latencies.isEmpty() ? 0 : latencies.get(latencies.size() - 1));
        for (String rollback : rollbacks) {
            out.println("  rollback              " + rollback + ", control record -> active, includes the "
                    + "checkpoint that commits it");
        }
        out.printf("  consistency probe     %d whole-version reads during the flips, %d mixed or wrong%n",
                probe.reads(), probe.mismatches());
        probe.firstMismatches().forEach(m -> out.println("    " + m));
    }

    private JobClient startJob(EmbeddedKafka kafka, TopicNames topics) throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(JobOptions.TOPIC_PREFIX, topics.prefix());
        conf.set(JobOptions.WORKERS, settings.workers());
        conf.set(JobOptions.CHECKPOINT_INTERVAL, settings.checkpointInterval());
        conf.set(SinkOptions.NAME, SINK);
        conf.set(SinkOptions.BACKEND, settings.backend());
        conf.set(SinkOptions.COMMIT_MODE, CommitMode.ON_CHECKPOINT);
        conf.set(SinkOptions.WORKER_HTTP, true);
        conf.set(SinkOptions.WORKER_HTTP_BASE_PORT, 0);
        // One retired version stays in memory, so rolling back to it is a flip; older ones replay from Kafka.
        conf.set(SinkOptions.RESIDENT_VERSIONS, 1);
        Configuration cluster = new Configuration();
        cluster.set(TaskManagerOptions.NUM_TASK_SLOTS, settings.workers());
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.createLocalEnvironment(settings.workers(), cluster);
        WeightPublishingJob.build(env, conf);
        return env.executeAsync("weightpub demo");
    }

    private List<URI> awaitWorkers() throws InterruptedException {
        List<URI> uris = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int worker = 0; worker < settings.workers(); worker++) {
            Optional<URI> uri;
            while ((uri = WeightSink.workerUri(SINK, worker)).isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("worker " + worker + " did not start within 60 s");
                }
                Thread.sleep(50);
            }
            uris.add(uri.get());
        }
        return uris;
    }

    private void awaitVersion(long version) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        for (int worker = 0; worker < settings.workers(); worker++) {
            WeightStore store = WeightSink.store(SINK, worker).orElseThrow();
            while (activeVersion(store) < version) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("worker " + worker + " did not activate version " + version
                            + "; its status: " + store.status(MODEL));
                }
                Thread.sleep(2);
            }
        }
    }

    private static long activeVersion(WeightStore store) {
        try (ActiveVersion lease = store.acquire(MODEL).orElse(null)) {
            return lease == null ? -1 : lease.info().version();
        }
    }

    /** Runs {@code start} with standard output muted: Kafka's storage formatter prints to it. */
    private <T> T quietly(java.util.function.Supplier<T> start) {
        PrintStream original = System.out;
        System.setOut(new PrintStream(java.io.OutputStream.nullOutputStream()));
        try {
            return start.get();
        } finally {
            System.setOut(original);
        }
    }

    private static double median(List<Double> values) {
        if (values.isEmpty()) {
            return 0;
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Collections.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    /** What happened to one version. */
    private record VersionRun(long version, long bytes, double publishMegabytesPerSecond, double publishSeconds,
            double manifestToActiveMs, double publishToActiveSeconds) {}

    /** Command-line settings of the demo. */
    record DemoSettings(int versions, long modelBytes, int workers, StoreBackend backend, Duration checkpointInterval) {

        static final String USAGE = "usage: scripts/demo.sh [--versions N (5)] [--size MiB (256)] [--workers N (2)] "
                + "[--backend AUTO|HOST|CUDA (AUTO: the GPU when there is one)]";

        DemoSettings {
            if (versions < 1 || modelBytes < (1 << 20) || workers < 1) {
                throw new IllegalArgumentException("need at least 1 version, 1 MiB and 1 worker");
            }
        }

        static DemoSettings parse(String[] args) {
            int versions = 5;
            long mib = 256;
            int workers = 2;
            StoreBackend backend = StoreBackend.AUTO;
            for (int i = 0; i < args.length; i++) {
                String value = i + 1 < args.length ? args[i + 1] : null;
                switch (args[i]) {
                    case "--versions" -> versions = Integer.parseInt(required(args[i], value));
                    case "--size" -> mib = Long.parseLong(required(args[i], value));
                    case "--workers" -> workers = Integer.parseInt(required(args[i], value));
                    case "--backend" -> backend = StoreBackend.valueOf(required(args[i], value).toUpperCase(Locale.ROOT));
                    default -> throw new IllegalArgumentException("unknown argument " + args[i]);
                }
                i++;
            }
            return new DemoSettings(versions, mib << 20, workers, backend, Duration.ofMillis(500));
        }

        private static String required(String flag, String value) {
            if (value == null) {
                throw new IllegalArgumentException(flag + " needs a value");
            }
            return value;
        }
    }
}
