package io.weightpub.bench;

import io.weightpub.publisher.PublishResult;
import io.weightpub.schemas.TopicNames;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * End to end on the host (host stores) or on a GPU host (CUDA stores): the job's throughput as its
 * parallelism grows, against two Kafka ceilings measured in the same run on the same chunks topic
 * (in page cache): one {@code ConsumerPerformance} process, and N of them in one consumer group
 * (N saturating the host). Per model size one version is published once; each run then measures
 * both ceilings and the job (1 worker) at every parallelism, each in a fresh JVM. The job is timed
 * from its first staged chunk to the version active on every worker; its CPU (and the broker's) is
 * read from /proc over that window. {@link StepLatency} adds the time from the trainer's last record
 * to active at several worker counts.
 */
public final class EndToEndBench {

    static final long GIB = 1L << 30;
    /** Heaps of the broker, the job JVM and the tools, kept free on top of stores and page cache. */
    static final long JVM_RESERVE = 3 * GIB;
    /**
     * How long a member of the consumer group waits without records before it ends. ConsumerPerformance
     * counts its group join into that wait: with 2 s, on this 2-core machine under load, both members
     * of the group ended before their assignment (no record read, the ceiling NaN). The window is
     * taken from the members' own last record, so a longer wait costs time but no accuracy.
     */
    static final long GROUP_IDLE_MS = 6000;

    /**
     * What to measure: backend ({@code host} or {@code cuda}), runs, the parallelism list, the
     * consumer-group size (0: the host's cores, capped by the partitions), the chunk partitions (0:
     * enough for the largest parallelism and group), the broker's pid (-1: unknown) and the
     * step-latency settings, and the stages timed apart at each point ({@link #STAGES}).
     */
    public record Plan(String bench, String backend, int runs, List<Integer> parallelisms, int consumers,
            int chunkPartitions, long brokerPid, long memoryBudget, int checkpointMs, List<Integer> latencyWorkers,
            List<Long> latencySizes, int latencyParallelism, List<String> stages) {

        public Plan {
            parallelisms = List.copyOf(parallelisms);
            latencyWorkers = List.copyOf(latencyWorkers);
            latencySizes = List.copyOf(latencySizes);
            stages = List.copyOf(stages);
            for (String s : stages) {
                if (!STAGES.contains(s)) {
                    throw new IllegalArgumentException("--stages " + s + ": expected some of " + STAGES + " or none");
                }
            }
        }

        /**
         * The job cut after a stage ({@link StageJob}: source, checker, network), and {@code job-host}:
         * the whole job with host stores where the benchmark's stores are CUDA.
         */
        static final List<String> STAGES = List.of("source", "checker", "network", "job-host");

        /** The options both BenchMain e2e and GpuBench take. */
        static final String[] OPTIONS = {"parallelism", "consumers", "chunk-partitions", "broker-pid",
                "latency-workers", "latency-sizes", "latency-parallelism", "stages"};

        static Plan from(BenchArgs args, String bench, String backend, int runs, long memoryBudget,
                int checkpointMs, List<Integer> defaultParallelism, List<Long> defaultLatencySizes) {
            List<Integer> ps = args.ints("parallelism", defaultParallelism);
            String stages = args.get("stages", String.join(",", STAGES));
            return new Plan(bench, backend, runs, ps, args.intValue("consumers", 0),
                    args.intValue("chunk-partitions", 0), args.intValue("broker-pid", -1), memoryBudget, checkpointMs,
                    args.ints("latency-workers", List.of(1, 2, 4)), args.sizes("latency-sizes", defaultLatencySizes),
                    args.intValue("latency-parallelism", ps.stream().mapToInt(Integer::intValue).max().orElse(1)),
                    stages.equals("none") ? List.of() : List.of(stages.split(",")));
        }

        /** The stages to time apart with this backend: job-host only where the job's stores are not host stores. */
        List<String> stagesFor() {
            return stages.stream().filter(s -> !s.equals("job-host") || !backend.equals("host")).toList();
        }

        /** Partitions of the chunks topic: the production count, or more for the largest parallelism / group. */
        int partitions(int configured, int cores) {
            if (chunkPartitions > 0) {
                return chunkPartitions;
            }
            int maxP = parallelisms.stream().mapToInt(Integer::intValue).max().orElse(1);
            return Math.max(configured, Math.max(maxP, consumers > 0 ? consumers : cores));
        }

        /** Members of the consumer group: as configured, else one per core; never more than partitions. */
        int groupSize(int partitions, int cores) {
            return Math.max(1, Math.min(partitions, consumers > 0 ? consumers : cores));
        }
    }

    private final Broker broker;
    private final Plan plan;
    private final TimeBudget budget;

    public EndToEndBench(Broker broker, Plan plan, TimeBudget budget) {
        this.broker = broker;
        this.plan = plan;
        this.budget = budget;
    }

    /** Memory a case needs: one slot per worker, the topic in page cache, and the JVMs. */
    static long memoryNeeded(long size, int workers) {
        return size * workers + size + JVM_RESERVE;
    }

    static String caseName(long size, int workers, int parallelism) {
        return Table.size(size) + "/" + workers + "w/p" + parallelism;
    }

    public List<Measurement> run(List<Long> sizes) throws Exception {
        List<Measurement> out = new ArrayList<>();
        int cores = Runtime.getRuntime().availableProcessors();
        Topics topics = Topics.bundled();
        int partitions = plan.partitions(topics.spec("chunks").partitions(), cores);
        topics = topics.withPartitions("chunks", partitions);
        int group = plan.groupSize(partitions, cores);
        for (long size : sizes) {
            if (memoryNeeded(size, 1) > plan.memoryBudget()) {
                for (int p : plan.parallelisms()) {
                    out.add(new Measurement(plan.bench(), caseName(size, 1, p), -1, "skipped_needs_bytes",
                            memoryNeeded(size, 1), "bytes"));
                }
                System.out.printf("skip %s: needs %s of memory, the budget is %s%n", Table.size(size),
                        Table.size(memoryNeeded(size, 1)), Table.size(plan.memoryBudget()));
                continue;
            }
            if (!budget.allows(plan.bench() + " " + Table.size(size) + " (every point)")) {
                continue;
            }
            String prefix = "bench-" + plan.bench() + "-" + Table.size(size).toLowerCase() + "-"
                    + UUID.randomUUID().toString().substring(0, 8);
            topics.create(broker.bootstrap(), prefix);
            try {
                System.out.printf("%s: publishing %s to %d chunk partitions ...%n", plan.bench(), Table.size(size),
                        partitions);
                PublishResult published = SyntheticModel.publish(broker.bootstrap(), prefix, "bench", 1, size);
                String chunks = TopicNames.of(prefix).chunks();
                long records = Topics.records(broker.bootstrap(), chunks);
                String sizeCase = Table.size(size);
                out.add(new Measurement(plan.bench(), sizeCase, -1, "publish_gbps",
                        published.megabytesPerSecond() / 1000, "GB/s"));
                out.add(new Measurement(plan.bench(), sizeCase, -1, "chunk_partitions", partitions, "count"));
                out.add(new Measurement(plan.bench(), sizeCase, -1, "parallel_consumers", group, "count"));
                System.out.printf("%s: published %s in %d records at %.0f MB/s; consumer group of %d%n", plan.bench(),
                        Table.size(published.bytes()), records, published.megabytesPerSecond(), group);
                for (int r = 0; r < plan.runs(); r++) {
                    measureRun(out, prefix, chunks, records, size, group, r);
                }
            } finally {
                Topics.delete(broker.bootstrap(), topics.names(prefix));
            }
        }
        out.addAll(new StepLatency(broker, plan, budget, topics).run());
        for (String skipped : budget.skipped()) {
            out.add(new Measurement(plan.bench(), "budget", -1, "skipped: " + skipped, 1, "point"));
        }
        return out;
    }

    private void measureRun(List<Measurement> out, String prefix, String chunks, long records, long size, int group,
            int run) throws Exception {
        if (!budget.allows(plan.bench() + " " + Table.size(size) + " run " + (run + 1))) {
            return;
        }
        KafkaPerfTools.ConsumerRun single = KafkaPerfTools.consume(broker.bootstrap(), chunks, records,
                prefix + "-single-" + run);
        ConsumerGroupRun parallel = KafkaPerfTools.consumeGroup(broker.bootstrap(), chunks,
                prefix + "-group-" + run, group, GROUP_IDLE_MS);
        double singleGbps = single.bytesPerSecond() / 1e9;
        double parallelGbps = parallel.bytesPerSecond() / 1e9;
        String sizeCase = Table.size(size);
        out.add(new Measurement(plan.bench(), sizeCase, run, "single_consumer_gbps", singleGbps, "GB/s"));
        out.add(new Measurement(plan.bench(), sizeCase, run, "parallel_consumer_gbps", parallelGbps, "GB/s"));
        // records read twice after a rebalance (or missed) would make the group's bytes wrong: keep the count
        out.add(new Measurement(plan.bench(), sizeCase, run, "parallel_consumer_extra_records",
                parallel.records() - records, "records"));
        System.out.printf("%s %s run %d: one consumer %.2f GB/s, %d consumers %.2f GB/s%n", plan.bench(), sizeCase,
                run + 1, singleGbps, group, parallelGbps);
        for (int p : plan.parallelisms()) {
            String c = caseName(size, 1, p);
            if (!budget.allows(plan.bench() + " " + c + " run " + (run + 1))) {
                continue;
            }
            for (String stage : plan.stagesFor()) {
                if (budget.allows(plan.bench() + " " + c + " " + stage + " run " + (run + 1))) {
                    measureStage(out, prefix, c, run, p, stage, parallelGbps);
                }
            }
            Map<String, String> job = job(prefix, 1, p, plan.backend());
            double jobGbps = gbps(job, "dataplane_ms");
            out.add(new Measurement(plan.bench(), c, run, "job_gbps", jobGbps, "GB/s"));
            out.add(new Measurement(plan.bench(), c, run, "job_wall_gbps", gbps(job, "wall_ms"), "GB/s"));
            out.add(new Measurement(plan.bench(), c, run, "parallel_consumer_gbps", parallelGbps, "GB/s"));
            out.add(new Measurement(plan.bench(), c, run, "single_consumer_gbps", singleGbps, "GB/s"));
            out.add(new Measurement(plan.bench(), c, run, "ratio_job_parallel_consumer", jobGbps / parallelGbps, "x"));
            out.add(new Measurement(plan.bench(), c, run, "ratio_job_single_consumer", jobGbps / singleGbps, "x"));
            out.add(new Measurement(plan.bench(), c, run, "job_cores", num(job, "job_cores"), "cores"));
            out.add(new Measurement(plan.bench(), c, run, "broker_cores", num(job, "broker_cores"), "cores"));
            out.add(new Measurement(plan.bench(), c, run, "job_stream_ms", num(job, "stream_ms"), "ms"));
            out.add(new Measurement(plan.bench(), c, run, "job_verify_ms", num(job, "verify_ms"), "ms"));
            out.add(new Measurement(plan.bench(), c, run, "job_commit_wait_ms", num(job, "commit_wait_ms"), "ms"));
            out.add(new Measurement(plan.bench(), c, run, "model_bytes", num(job, "bytes"), "bytes"));
            System.out.printf("%s %s run %d: job %.2f GB/s (wall %.2f) = %.2fx %d consumers, %.2fx one; "
                            + "job %.1f cores, broker %.1f cores%n", plan.bench(), c, run + 1, jobGbps,
                    gbps(job, "wall_ms"), jobGbps / parallelGbps, group, jobGbps / singleGbps, num(job, "job_cores"),
                    num(job, "broker_cores"));
        }
    }

    /**
     * One stage at one point: the job cut after it, or the whole job with host stores ({@code
     * job-host}); its GB/s from first record to last, its cores and the broker's, as {@code <stage>_*}.
     */
    private void measureStage(List<Measurement> out, String prefix, String c, int run, int p, String stage,
            double parallelGbps) throws Exception {
        Map<String, String> r = stage.equals("job-host") ? job(prefix, 1, p, "host") : runner(prefix, stage, 1, p,
                "host");
        String m = stage.replace('-', '_');
        double gbps = gbps(r, "dataplane_ms");
        out.add(new Measurement(plan.bench(), c, run, m + "_gbps", gbps, "GB/s"));
        out.add(new Measurement(plan.bench(), c, run, m + "_cores", num(r, "job_cores"), "cores"));
        out.add(new Measurement(plan.bench(), c, run, m + "_broker_cores", num(r, "broker_cores"), "cores"));
        out.add(new Measurement(plan.bench(), c, run, "ratio_" + m + "_parallel_consumer", gbps / parallelGbps, "x"));
        System.out.printf("%s %s run %d: %s %.2f GB/s = %.2fx the group; %.1f cores, broker %.1f cores%n",
                plan.bench(), c, run + 1, stage, gbps, gbps / parallelGbps, num(r, "job_cores"),
                num(r, "broker_cores"));
    }

    private Map<String, String> job(String prefix, int workers, int parallelism, String backend) throws Exception {
        return runner(prefix, "job", workers, parallelism, backend);
    }

    private long brokerPid() {
        return plan.brokerPid() > 0 ? plan.brokerPid() : broker.pid();
    }

    private Map<String, String> runner(String prefix, String mode, int workers, int parallelism, String backend)
            throws Exception {
        List<String> args = List.of("--mode", mode, "--bootstrap", broker.bootstrap(), "--prefix", prefix,
                "--workers", String.valueOf(workers), "--parallelism", String.valueOf(parallelism),
                "--backend", backend, "--model", "bench", "--version", "1",
                "--checkpoint-ms", String.valueOf(plan.checkpointMs()), "--broker-pid", String.valueOf(brokerPid()));
        ChildJvm.Outcome outcome = ChildJvm.run(JobRunner.class.getName(), jobJvmArgs(parallelism), args, 1800, null);
        String line = outcome.last(JobRunner.RESULT).orElseThrow(() -> new IllegalStateException(
                "the " + mode + " run (" + workers + " workers, parallelism " + parallelism + ", " + backend
                        + " stores) printed no result, exit " + outcome.exitCode() + ":\n" + outcome.tail(40)));
        return JobRunner.parseResult(line);
    }

    static List<String> jobJvmArgs() {
        return jobJvmArgs(1);
    }

    /**
     * Each source reader keeps up to a fetch (16 MiB per partition, 64 MiB in all) in its consumer and
     * as much again queued for the reader: a fixed 2 GiB heap that suits one reader runs out at 16.
     */
    static List<String> jobJvmArgs(int parallelism) {
        List<String> args = new ArrayList<>(List.of("-Xmx" + (2 + parallelism / 4) + "g", "-XX:+UseG1GC",
                "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"));
        // Later flags win: a run can compare collectors or region sizes without a rebuild.
        String extra = System.getenv(JOB_JVM_ARGS_ENV);
        if (extra != null && !extra.isBlank()) {
            args.addAll(List.of(extra.trim().split("\\s+")));
        }
        return args;
    }

    /** Extra JVM flags for the job's JVM, space separated (e.g. {@code -XX:G1HeapRegionSize=32m}). */
    static final String JOB_JVM_ARGS_ENV = "WEIGHTPUB_BENCH_JOB_JVM_ARGS";

    static double num(Map<String, String> result, String key) {
        String v = result.get(key);
        return v == null ? Double.NaN : Double.parseDouble(v);
    }

    static double gbps(Map<String, String> result, String millisKey) {
        return num(result, "bytes") / 1e9 / (num(result, millisKey) / 1000.0);
    }

    /** Where the results of a benchmark go. */
    public static Path file(Path dir, String bench) {
        return dir.resolve(bench + ".csv");
    }
}
