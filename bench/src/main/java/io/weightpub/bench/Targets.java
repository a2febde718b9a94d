package io.weightpub.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The report's targets table: each benchmark's ceiling, the project's number, their ratio, met or not. */
final class Targets {

    private Targets() {}

    static final double E2E_TARGET = 0.9;
    static final double GPU_STAGING_TARGET = 0.9;
    static final double FLIP_P99_TARGET_US = 1000;
    static final double REPLAY_TARGET = 0.8;
    /** "Flat": the live heap grows by less than 1 % of the model's bytes. */
    static final double HEAP_SLOPE_TARGET = 0.01;
    /** "Flat": checkpointed state grows by less than 1 MiB per GiB of model (0.1 %). */
    static final double STATE_SLOPE_TARGET = 1.0 / 1024;

    /** One row of the targets table. */
    record Target(String benchmark, String ceiling, String project, String ratio, String target, String met) {}


    static Table targetsTable(Results r) {
        Table t = new Table("benchmark", "ceiling", "project", "ratio", "target", "met?");
        for (Target target : targets(r)) {
            t.row(target.benchmark(), target.ceiling(), target.project(), target.ratio(), target.target(),
                    target.met());
        }
        return t;
    }

    static List<Target> targets(Results r) {
        List<Target> list = new ArrayList<>();
        for (String bench : Report.E2E_BENCHES) {
            if (CurveReport.isCurve(r, bench)) {
                list.addAll(CurveReport.targets(r, bench));
                continue;
            }
            String where = bench.equals("e2e") ? "end to end, host sink" : "end to end, GPU (" + bench.substring(4) + ")";
            for (String c : r.cases(bench)) {
                if (Report.skipped(r, bench, c)) {
                    list.add(new Target(where + " " + c, "—", "—", "—", "≥ 0.90× raw consumer",
                            "skipped: needs " + Table.size((long) r.median(bench, c, "skipped_needs_bytes"))
                                    + " of memory"));
                    continue;
                }
                double ratio = r.median(bench, c, "ratio_job_consumer");
                list.add(new Target(where + " " + c,
                        "ConsumerPerformance " + Table.num(r.median(bench, c, "consumer_mbps")) + " MB/s",
                        "job " + Table.num(r.median(bench, c, "job_mbps")) + " MB/s",
                        Table.ratio(ratio), "≥ 0.90×", met(ratio >= E2E_TARGET)));
            }
        }
        if (r.has("gpu")) {
            double raw = r.median("gpu", "staging", "raw_pinned_htod");
            double bestStaging = Double.NaN;
            String bestCase = "";
            for (String m : r.metrics("gpu", "staging")) {
                if (m.startsWith("store_staging_copy_threads_")) {
                    double v = r.median("gpu", "staging", m);
                    if (Double.isNaN(bestStaging) || v > bestStaging) {
                        bestStaging = v;
                        bestCase = m.substring("store_staging_copy_threads_".length()) + " copy threads";
                    }
                }
            }
            list.add(new Target("GPU staging (" + bestCase + ")", "pinned H2D " + Table.num(raw) + " GB/s",
                    "staging " + Table.num(bestStaging) + " GB/s", Table.ratio(bestStaging / raw), "≥ 0.90×",
                    met(bestStaging / raw >= GPU_STAGING_TARGET)));
            double p99 = r.median("gpu", "flip", "flip_p99");
            list.add(new Target("flip latency p99 under concurrent reads", "—",
                    String.format(Locale.ROOT, "p50 %s µs, p99 %s µs, max %s µs", Table.num(r.median("gpu", "flip",
                            "flip_p50")), Table.num(p99), Table.num(r.median("gpu", "flip", "flip_max"))),
                    "—", "p99 < 1 ms", met(p99 < FLIP_P99_TARGET_US)));
        } else {
            list.add(new Target("GPU staging vs pinned H2D", "—", "—", "—", "≥ 0.90×",
                    "pending: GPU host (`scripts/bench.sh gpu-prepare`)"));
            list.add(new Target("flip latency p99 under concurrent reads", "—", "—", "—", "p99 < 1 ms",
                    "pending: GPU host"));
        }
        if (r.has(MemoryBench.BENCH)) {
            Flatness heap = flatness(r, "heap_live_max");
            list.add(new Target("job heap vs model size (live heap after GC)", "—",
                    heap.describe(), Table.ratio(heap.ratio()), "flat: grows < 1 % of model bytes",
                    met(heap.slope() < HEAP_SLOPE_TARGET)));
            Flatness state = flatness(r, "state_max");
            list.add(new Target("checkpointed state vs model size", "—", state.describe(), Table.ratio(state.ratio()),
                    "flat: grows < 1 MiB per GiB", met(state.slope() < STATE_SLOPE_TARGET)));
        }
        if (r.has("rollback")) {
            double resident = r.median("rollback", "resident", "latency_ms");
            list.add(new Target("rollback to a resident version", "—", Table.num(resident) + " ms", "—", "< 10 ms",
                    met(resident < 10)));
            double replay = r.median("rollback", "replay", "ratio_replay_consumer");
            list.add(new Target("replay from Kafka", "raw consumer", "", Table.ratio(replay), "≥ 0.80×",
                    met(replay >= REPLAY_TARGET)));
        } else {
            list.add(new Target("rollback to a resident version", "—", "—", "—", "< 10 ms",
                    "pending: no benchmark yet"));
            list.add(new Target("replay (rollback to a non-resident version, recovery)", "raw consumer", "—", "—",
                    "≥ 0.80×", "pending: no benchmark yet"));
        }
        if (r.has(PublisherBench.BENCH)) {
            for (String c : r.cases(PublisherBench.BENCH)) {
                list.add(new Target("publisher " + c,
                        "ProducerPerformance " + Table.num(r.median(PublisherBench.BENCH, c, "producer_perf_mbps"))
                                + " MB/s",
                        "publisher " + Table.num(r.median(PublisherBench.BENCH, c, "publisher_mbps")) + " MB/s",
                        Table.ratio(r.median(PublisherBench.BENCH, c, "ratio_publisher_producer")), "— (none set)",
                        "—"));
            }
        }
        return list;
    }

    static String met(boolean ok) {
        return ok ? "yes" : "**no**";
    }

    /** How a memory metric changes with the model size. */
    record Flatness(double[] sizes, double[] values, double slope) {
        double ratio() {
            return values.length == 0 || values[0] == 0 ? Double.NaN : values[values.length - 1] / values[0];
        }

        String describe() {
            if (sizes.length == 0) {
                return "no data";
            }
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < sizes.length; i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                sb.append(Table.size((long) values[i])).append(" @ ").append(Table.size((long) sizes[i]));
            }
            return sb.append(String.format(Locale.ROOT, "; slope %s per GiB",
                    Table.size((long) Math.max(0, slope * (1L << 30))))).toString();
        }
    }

    static Flatness flatness(Results r, String metric) {
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        for (String c : r.cases(MemoryBench.BENCH)) {
            double bytes = r.median(MemoryBench.BENCH, c, "bytes");
            double v = r.median(MemoryBench.BENCH, c, metric);
            if (!Double.isNaN(bytes) && !Double.isNaN(v)) {
                xs.add(bytes);
                ys.add(v);
            }
        }
        double[] x = xs.stream().mapToDouble(Double::doubleValue).toArray();
        double[] y = ys.stream().mapToDouble(Double::doubleValue).toArray();
        return new Flatness(x, y, Stats.slope(x, y));
    }
}
