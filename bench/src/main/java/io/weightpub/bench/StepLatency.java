package io.weightpub.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * What an RL step waits for: the time from the trainer's last record (its publish acknowledged and
 * committed) to the version active on every worker, with the job already running and caught up. Per
 * worker count the job runs unbounded in a {@link JobServer} child; two untimed versions prove it
 * caught up and warm every worker's slots, then each run publishes a version of the given size from this JVM while the job
 * reads, and takes the child's ACTIVE time (same host clock) minus the moment publish returned.
 */
final class StepLatency {

    private final Broker broker;
    private final EndToEndBench.Plan plan;
    private final TimeBudget budget;
    private final Topics topics;

    StepLatency(Broker broker, EndToEndBench.Plan plan, TimeBudget budget, Topics topics) {
        this.broker = broker;
        this.plan = plan;
        this.budget = budget;
        this.topics = topics;
    }

    /** Host memory a point needs: the active and the staged version per worker, the topic, the JVMs. */
    static long memoryNeeded(long size, int workers) {
        return 2 * size * workers + size + EndToEndBench.JVM_RESERVE;
    }

    List<Measurement> run() throws Exception {
        List<Measurement> out = new ArrayList<>();
        for (long size : plan.latencySizes()) {
            for (int workers : plan.latencyWorkers()) {
                if (workers <= 0) { // --latency-workers 0: none
                    continue;
                }
                String c = EndToEndBench.caseName(size, workers, plan.latencyParallelism());
                if (plan.backend().equals("host") && memoryNeeded(size, workers) > plan.memoryBudget()) {
                    out.add(new Measurement(plan.bench(), c, -1, "skipped_needs_bytes", memoryNeeded(size, workers),
                            "bytes"));
                    System.out.printf("skip latency %s: needs %s of memory%n", c,
                            Table.size(memoryNeeded(size, workers)));
                    continue;
                }
                if (budget.allows(plan.bench() + " last record to active " + c)) {
                    measure(out, c, size, workers);
                }
            }
        }
        return out;
    }

    private void measure(List<Measurement> out, String c, long size, int workers) throws Exception {
        String prefix = "bench-" + plan.bench() + "-step-" + UUID.randomUUID().toString().substring(0, 8);
        topics.create(broker.bootstrap(), prefix);
        List<String> args = List.of("--bootstrap", broker.bootstrap(), "--prefix", prefix, "--workers",
                String.valueOf(workers), "--parallelism", String.valueOf(plan.latencyParallelism()), "--backend",
                plan.backend(), "--model", "bench", "--checkpoint-ms", String.valueOf(plan.checkpointMs()));
        try (ChildJvm.Running job = ChildJvm.start(JobServer.class.getName(), EndToEndBench.jobJvmArgs(), args,
                null)) {
            job.awaitLine(JobServer.READY, 0, 300_000);
            // Two untimed versions of the full size: the job has caught up, and both slots of every worker
            // hold memory of that size (a fresh slot's first touch cost the first two timed runs 3-17 s
            // here against 0.4-0.8 s once the slots were warm)
            publishAndWait(job, prefix, 1, size);
            publishAndWait(job, prefix, 2, size);
            for (int r = 0; r < plan.runs(); r++) {
                long version = r + 3;
                long[] t = publishAndWait(job, prefix, version, size);
                double latencyMs = t[1] - t[0];
                out.add(new Measurement(plan.bench(), c, r, "last_record_to_active_ms", latencyMs, "ms"));
                out.add(new Measurement(plan.bench(), c, r, "concurrent_publish_gbps", size / 1e9 / (t[2] / 1000.0),
                        "GB/s"));
                System.out.printf("%s %s run %d: last record to active on every worker %.0f ms (publish took %d ms)%n",
                        plan.bench(), c, r + 1, latencyMs, t[2]);
            }
            job.send("STOP");
            ChildJvm.Outcome end = job.await(120);
            if (end.exitCode() != 0) {
                throw new IllegalStateException("the serving job exited " + end.exitCode() + ":\n" + end.tail(30));
            }
        } finally {
            Topics.delete(broker.bootstrap(), topics.names(prefix));
        }
    }

    /** Publishes {@code version}; returns {publish returned (epoch ms), all workers active (epoch ms), publish ms}. */
    private long[] publishAndWait(ChildJvm.Running job, String prefix, long version, long size) throws Exception {
        int seen = job.lines().size();
        long start = System.currentTimeMillis();
        SyntheticModel.publish(broker.bootstrap(), prefix, "bench", version, size);
        long acked = System.currentTimeMillis();
        while (true) {
            String line = job.awaitLine(JobServer.ACTIVE, seen, 600_000);
            long[] active = JobServer.parseActive(line);
            if (active[0] >= version) {
                return new long[] {acked, active[1], acked - start};
            }
            seen = indexAfter(job.lines(), JobServer.ACTIVE + line, seen);
        }
    }

    static int indexAfter(List<String> lines, String line, int from) {
        for (int i = from; i < lines.size(); i++) {
            if (lines.get(i).equals(line)) {
                return i + 1;
            }
        }
        return lines.size();
    }
}
