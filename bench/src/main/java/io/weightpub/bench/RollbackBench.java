package io.weightpub.bench;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Rollback and replay, measured by {@link ReplayBenchmark} (its own in-process broker):
 * a raw consumer and the sink's replay alternate over the same offset ranges of one version, and a
 * sink writer handles rollbacks to resident versions. Its figures become this suite's measurements.
 */
final class RollbackBench {

    static final String BENCH = "rollback";

    private final boolean quick;
    private final int runs;

    RollbackBench(boolean quick, int runs) {
        this.quick = quick;
        this.runs = runs;
    }

    List<Measurement> run() throws Exception {
        Path out = Files.createTempDirectory("weightpub-rollback-bench");
        ReplayBenchmark.main(new String[] {out.toString(), quick ? "32" : "256", "1024", "3", String.valueOf(runs),
                quick ? "200" : "2000"});
        Map<String, Double> metrics = read(out.resolve("replay-rollback.csv"));
        List<Measurement> measured = new ArrayList<>();
        measured.add(new Measurement(BENCH, "resident", -1, "latency_ms", metric(metrics, "resident_rollback_p99_ms"),
                "ms (p99)"));
        measured.add(new Measurement(BENCH, "resident", -1, "latency_p50_ms",
                metric(metrics, "resident_rollback_p50_ms"), "ms"));
        measured.add(new Measurement(BENCH, "resident", -1, "latency_max_ms",
                metric(metrics, "resident_rollback_max_ms"), "ms"));
        measured.add(new Measurement(BENCH, "replay", -1, "ratio_replay_consumer",
                metric(metrics, "replay_to_raw_ratio"), "x"));
        measured.add(new Measurement(BENCH, "replay", -1, "raw_consumer_mbps", metric(metrics, "raw_consumer_MBps"),
                "MB/s"));
        measured.add(new Measurement(BENCH, "replay", -1, "replay_mbps", metric(metrics, "replay_into_slot_MBps"),
                "MB/s"));
        return measured;
    }

    private static double metric(Map<String, Double> metrics, String name) {
        Double value = metrics.get(name);
        if (value == null) {
            throw new IllegalStateException("ReplayBenchmark wrote no " + name + " (it wrote " + metrics.keySet() + ")");
        }
        return value;
    }

    /** ReplayBenchmark's CSV: {@code metric,value,note}. */
    private static Map<String, Double> read(Path csv) throws IOException {
        Map<String, Double> metrics = new HashMap<>();
        List<List<String>> rows = Csv.read(csv);
        for (List<String> row : rows.subList(1, rows.size())) {
            metrics.put(row.get(0), Double.parseDouble(row.get(1)));
        }
        return metrics;
    }
}
