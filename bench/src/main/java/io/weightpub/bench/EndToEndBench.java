package io.weightpub.bench;

import io.weightpub.publisher.PublishResult;
import io.weightpub.schemas.TopicNames;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * End to end on the host (or, with the CUDA backend, on a GPU host): per model size one version is
 * published to a fresh set of topics, then each run measures, back to back on the same chunks topic
 * (in page cache): Kafka's ConsumerPerformance, the Flink read-and-discard floor, the job with each
 * worker count, and ConsumerPerformance again. The run's ceiling is the mean of the two consumer
 * runs that bracket it; the ratio is the job's data-plane throughput over that ceiling.
 */
public final class EndToEndBench {

    static final long GIB = 1L << 30;
    /** Heaps of the broker, the job JVM and the tools, kept free on top of stores and page cache. */
    static final long JVM_RESERVE = 3 * GIB;

    private final Broker broker;
    private final String bench;
    private final String backend;
    private final int runs;
    private final long memoryBudget;
    private final int checkpointMs;

    public EndToEndBench(Broker broker, String bench, String backend, int runs, long memoryBudget, int checkpointMs) {
        this.broker = broker;
        this.bench = bench;
        this.backend = backend;
        this.runs = runs;
        this.memoryBudget = memoryBudget;
        this.checkpointMs = checkpointMs;
    }

    /** Memory a case needs: one slot per worker, the topic in page cache, and the JVMs. */
    static long memoryNeeded(long size, int workers) {
        return size * workers + size + JVM_RESERVE;
    }

    static String caseName(long size, int workers) {
        return Table.size(size) + "/" + workers + "w";
    }

    public List<Measurement> run(List<Long> sizes, List<Integer> workerCounts) throws Exception {
        List<Measurement> out = new ArrayList<>();
        for (long size : sizes) {
            List<Integer> fitting = new ArrayList<>();
            for (int w : workerCounts) {
                if (memoryNeeded(size, w) <= memoryBudget) {
                    fitting.add(w);
                } else {
                    out.add(new Measurement(bench, caseName(size, w), -1, "skipped_needs_bytes",
                            memoryNeeded(size, w), "bytes"));
                    System.out.printf("skip %s: needs %s of memory, the budget is %s%n", caseName(size, w),
                            Table.size(memoryNeeded(size, w)), Table.size(memoryBudget));
                }
            }
            if (fitting.isEmpty()) {
                continue;
            }
            String prefix = "bench-" + bench + "-" + Table.size(size).toLowerCase() + "-"
                    + UUID.randomUUID().toString().substring(0, 8);
            Topics topics = Topics.bundled();
            topics.create(broker.bootstrap(), prefix);
            try {
                System.out.printf("%s: publishing %s ...%n", bench, Table.size(size));
                PublishResult published = SyntheticModel.publish(broker.bootstrap(), prefix, "bench", 1, size);
                String chunks = TopicNames.of(prefix).chunks();
                long records = Topics.records(broker.bootstrap(), chunks);
                System.out.printf("%s: published %s in %d records at %.0f MB/s%n", bench, Table.size(published.bytes()),
                        records, published.megabytesPerSecond());
                for (int r = 0; r < runs; r++) {
                    measureRun(out, prefix, chunks, records, size, fitting, r);
                }
            } finally {
                Topics.delete(broker.bootstrap(), topics.names(prefix));
            }
        }
        return out;
    }

    private void measureRun(List<Measurement> out, String prefix, String chunks, long records, long size,
            List<Integer> workers, int run) throws Exception {
        KafkaPerfTools.ConsumerRun before = KafkaPerfTools.consume(broker.bootstrap(), chunks, records,
                prefix + "-perf-" + run + "-a");
        Map<String, String> floor = job("floor", prefix, 1);
        List<Map<String, String>> jobs = new ArrayList<>();
        for (int w : workers) {
            jobs.add(job("job", prefix, w));
        }
        KafkaPerfTools.ConsumerRun after = KafkaPerfTools.consume(broker.bootstrap(), chunks, records,
                prefix + "-perf-" + run + "-b");
        double consumer = (before.bytesPerSecond() + after.bytesPerSecond()) / 2 / 1e6;
        double floorMbps = mbps(floor, "dataplane_ms");
        for (int i = 0; i < workers.size(); i++) {
            Map<String, String> job = jobs.get(i);
            String c = caseName(size, workers.get(i));
            double jobMbps = mbps(job, "dataplane_ms");
            out.add(new Measurement(bench, c, run, "consumer_mbps", consumer, "MB/s"));
            out.add(new Measurement(bench, c, run, "consumer_before_mbps", before.bytesPerSecond() / 1e6, "MB/s"));
            out.add(new Measurement(bench, c, run, "consumer_after_mbps", after.bytesPerSecond() / 1e6, "MB/s"));
            out.add(new Measurement(bench, c, run, "floor_mbps", floorMbps, "MB/s"));
            out.add(new Measurement(bench, c, run, "floor_wall_mbps", mbps(floor, "wall_ms"), "MB/s"));
            out.add(new Measurement(bench, c, run, "job_mbps", jobMbps, "MB/s"));
            out.add(new Measurement(bench, c, run, "job_wall_mbps", mbps(job, "wall_ms"), "MB/s"));
            out.add(new Measurement(bench, c, run, "ratio_job_consumer", jobMbps / consumer, "x"));
            out.add(new Measurement(bench, c, run, "ratio_floor_consumer", floorMbps / consumer, "x"));
            out.add(new Measurement(bench, c, run, "ratio_job_floor", jobMbps / floorMbps, "x"));
            out.add(new Measurement(bench, c, run, "job_stream_mbps", num(job, "bytes") / 1e6
                    / (num(job, "stream_ms") / 1000.0), "MB/s"));
            out.add(new Measurement(bench, c, run, "job_stream_ms", num(job, "stream_ms"), "ms"));
            out.add(new Measurement(bench, c, run, "job_verify_ms", num(job, "verify_ms"), "ms"));
            out.add(new Measurement(bench, c, run, "job_commit_wait_ms", num(job, "commit_wait_ms"), "ms"));
            out.add(new Measurement(bench, c, run, "job_heap_live_max", num(job, "heap_live_max"), "bytes"));
            out.add(new Measurement(bench, c, run, "job_state_max", num(job, "state_max"), "bytes"));
            out.add(new Measurement(bench, c, run, "model_bytes", num(job, "bytes"), "bytes"));
            System.out.printf("%s %s run %d: consumer %.0f MB/s, floor %.0f MB/s, job %.0f MB/s (wall %.0f MB/s)"
                            + " = %.2fx consumer%n", bench, c, run + 1, consumer, floorMbps, jobMbps,
                    mbps(job, "wall_ms"), jobMbps / consumer);
        }
    }

    private Map<String, String> job(String mode, String prefix, int workers) throws Exception {
        List<String> args = List.of("--mode", mode, "--bootstrap", broker.bootstrap(), "--prefix", prefix,
                "--workers", String.valueOf(workers), "--backend", backend, "--model", "bench", "--version", "1",
                "--checkpoint-ms", String.valueOf(checkpointMs));
        ChildJvm.Outcome outcome = ChildJvm.run(JobRunner.class.getName(), jobJvmArgs(), args, 1800, null);
        String line = outcome.last(JobRunner.RESULT).orElseThrow(() -> new IllegalStateException(
                "the " + mode + " run (" + workers + " workers) printed no result, exit " + outcome.exitCode()
                        + ":\n" + outcome.tail(40)));
        return JobRunner.parseResult(line);
    }

    static List<String> jobJvmArgs() {
        return List.of("-Xmx2g", "-XX:+UseG1GC",
                "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED");
    }

    static double num(Map<String, String> result, String key) {
        String v = result.get(key);
        return v == null ? Double.NaN : Double.parseDouble(v);
    }

    static double mbps(Map<String, String> result, String millisKey) {
        return num(result, "bytes") / 1e6 / (num(result, millisKey) / 1000.0);
    }

    /** Where the results of a benchmark go. */
    public static Path file(Path dir, String bench) {
        return dir.resolve(bench + ".csv");
    }
}
