package io.weightpub.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The report of {@link EndToEndBench}: the parallelism curve against the two consumer ceilings, the
 * step latency, the CPU at each point, what the time budget skipped, and one plot per model size.
 */
final class CurveReport {

    /** The targets: the job at least as fast as N parallel consumers, and 4.5 GB/s on the GPU host. */
    static final double RATIO_TARGET = 1.0;
    static final double GPU_GBPS_TARGET = 4.5;
    private static final Pattern CASE = Pattern.compile("(.+)/(\\d+)w/p(\\d+)");

    private CurveReport() {}

    /** Whether a bench's results are a parallelism curve (rather than the older per-worker comparison). */
    static boolean isCurve(Results r, String bench) {
        return r.all().stream().anyMatch(m -> m.bench().equals(bench) && m.metric().equals("job_gbps"));
    }

    /** A case's size, workers and parallelism, or null for a case that is not a point. */
    static Matcher point(String c) {
        Matcher m = CASE.matcher(c);
        return m.matches() ? m : null;
    }

    static List<String> curveCases(Results r, String bench) {
        return r.cases(bench).stream().filter(c -> point(c) != null && !r.values(bench, c, "job_gbps").isEmpty())
                .toList();
    }

    static List<String> latencyCases(Results r, String bench) {
        return r.cases(bench).stream().filter(c -> !r.values(bench, c, "last_record_to_active_ms").isEmpty())
                .toList();
    }

    static String spread(Results r, String bench, String c, String metric) {
        List<Double> v = r.values(bench, c, metric);
        if (v.isEmpty()) {
            return "—";
        }
        String median = Table.num(Stats.median(v));
        return v.size() < 2 || Stats.min(v) == Stats.max(v) ? median : median + " [" + Table.num(Stats.min(v)) + "–" + Table.num(Stats.max(v)) + "]";
    }

    static Table curveTable(Results r, String bench) {
        Table t = new Table("case", "runs", "job GB/s", "N consumers GB/s", "1 consumer GB/s", "job / N consumers",
                "job cores", "broker cores");
        for (String c : curveCases(r, bench)) {
            t.row(c, r.values(bench, c, "job_gbps").size(), spread(r, bench, c, "job_gbps"),
                    spread(r, bench, c, "parallel_consumer_gbps"), spread(r, bench, c, "single_consumer_gbps"),
                    spread(r, bench, c, "ratio_job_parallel_consumer"), spread(r, bench, c, "job_cores"),
                    spread(r, bench, c, "broker_cores"));
        }
        return t;
    }

    static Table latencyTable(Results r, String bench) {
        Table t = new Table("case", "runs", "last record → active on every worker, ms",
                "publish GB/s (job running)");
        for (String c : latencyCases(r, bench)) {
            t.row(c, r.values(bench, c, "last_record_to_active_ms").size(),
                    spread(r, bench, c, "last_record_to_active_ms"), spread(r, bench, c, "concurrent_publish_gbps"));
        }
        return t;
    }

    /** Points the time budget left out, from the {@code budget} case. */
    static List<String> skipped(Results r, String bench) {
        return r.metrics(bench, "budget").stream().filter(m -> m.startsWith("skipped: "))
                .map(m -> m.substring("skipped: ".length())).toList();
    }

    /** The best point per size: its ratio and throughput as targets. */
    static List<Targets.Target> targets(Results r, String bench) {
        List<Targets.Target> list = new ArrayList<>();
        boolean gpu = !bench.equals("e2e");
        String where = gpu ? "end to end, GPU host" : "end to end, host stores";
        for (Map.Entry<String, String> best : bestPerSize(r, bench).entrySet()) {
            String c = best.getValue();
            double ratio = r.median(bench, c, "ratio_job_parallel_consumer");
            double job = r.median(bench, c, "job_gbps");
            list.add(new Targets.Target(where + " " + c + " (best parallelism)",
                    "N ConsumerPerformance " + Table.num(r.median(bench, c, "parallel_consumer_gbps")) + " GB/s",
                    "job " + Table.num(job) + " GB/s", Table.ratio(ratio),
                    gpu ? "≥ 1.0× and ≥ 4.5 GB/s" : "≥ 1.0×",
                    Targets.met(ratio >= RATIO_TARGET && (!gpu || job >= GPU_GBPS_TARGET))));
        }
        return list;
    }

    /** Per size, the case with the highest median job throughput. */
    static Map<String, String> bestPerSize(Results r, String bench) {
        Map<String, String> best = new LinkedHashMap<>();
        for (String c : curveCases(r, bench)) {
            String size = point(c).group(1);
            String current = best.get(size);
            if (current == null || r.median(bench, c, "job_gbps") > r.median(bench, current, "job_gbps")) {
                best.put(size, c);
            }
        }
        return best;
    }

    static String markdown(Results r, String bench, List<String> plots) {
        StringBuilder md = new StringBuilder();
        boolean gpu = !bench.equals("e2e");
        md.append(gpu ? "## End to end on the GPU host: parallelism curve\n\n"
                : "## End to end, host stores: parallelism curve\n\n");
        md.append("Per model size one version is published once; each run then measures on that chunks topic (in ")
                .append("page cache) one Kafka `ConsumerPerformance` process, N of them in one consumer group (timed ")
                .append("from the first member's first fetch to the last member's last record), and the job with one ")
                .append("worker (").append(gpu ? "CUDA" : "host").append(" stores unless the environment says ")
                .append("otherwise) at each parallelism, each in a fresh JVM. The job is timed from its first staged ")
                .append("chunk to the version active on the worker; its cores (and the broker's) are CPU time from ")
                .append("`/proc/<pid>/stat` over that window divided by its length. Medians [min–max] over runs; ")
                .append("ratios are per run.\n\n");
        md.append(curveTable(r, bench).markdown()).append('\n');
        for (String p : plots.stream().filter(p -> !p.endsWith(StageReport.STAGES_PLOT)).toList()) {
            md.append("![").append(p).append("](").append(p).append(")\n\n");
        }
        if (StageReport.has(r, bench)) {
            md.append(StageReport.markdown(r, bench));
            for (String p : plots.stream().filter(p -> p.endsWith(StageReport.STAGES_PLOT)).toList()) {
                md.append("![").append(p).append("](").append(p).append(")\n\n");
            }
        }
        Table latency = latencyTable(r, bench);
        if (!latency.rows().isEmpty()) {
            md.append("Time from the trainer's last record (its publish acknowledged and committed) to the version ")
                    .append("active on every worker, the job running and caught up before the publish")
                    .append(gpu ? "; all workers share the one GPU" : "").append(":\n\n")
                    .append(latency.markdown()).append('\n');
        }
        List<String> skipped = skipped(r, bench);
        if (!skipped.isEmpty()) {
            md.append("**Skipped when the time budget ran out:** ").append(String.join("; ", skipped)).append(".\n\n");
        }
        return md.toString();
    }

    /** One PNG per size: job GB/s over parallelism, the two consumer ceilings as horizontal lines. */
    static List<String> plots(Path dir, Results r, String bench) throws IOException {
        Map<String, List<String>> bySize = new LinkedHashMap<>();
        for (String c : curveCases(r, bench)) {
            bySize.computeIfAbsent(point(c).group(1), k -> new ArrayList<>()).add(c);
        }
        List<String> drawn = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : bySize.entrySet()) {
            List<String> cases = e.getValue();
            double[] x = new double[cases.size()];
            double[] job = new double[cases.size()];
            double[] parallel = new double[cases.size()];
            double[] single = new double[cases.size()];
            List<Double> allParallel = new ArrayList<>();
            List<Double> allSingle = new ArrayList<>();
            for (int i = 0; i < cases.size(); i++) {
                String c = cases.get(i);
                x[i] = Integer.parseInt(point(c).group(3));
                job[i] = r.median(bench, c, "job_gbps");
                allParallel.addAll(r.values(bench, c, "parallel_consumer_gbps"));
                allSingle.addAll(r.values(bench, c, "single_consumer_gbps"));
            }
            java.util.Arrays.fill(parallel, Stats.median(allParallel));
            java.util.Arrays.fill(single, Stats.median(allSingle));
            Map<String, double[]> series = Plots.ordered();
            series.put("weightpub job (1 worker)", job);
            series.put("N ConsumerPerformance, one group", parallel);
            series.put("1 ConsumerPerformance", single);
            String name = bench + "-curve-" + e.getKey().toLowerCase() + ".png";
            Plots.lines(dir.resolve(name), bench + ": " + e.getKey() + " version, GB/s by job parallelism",
                    "job parallelism", "GB/s (median)", x, series, Map.of(), "");
            drawn.add(name);
        }
        if (StageReport.has(r, bench)) {
            drawn.addAll(StageReport.plots(dir, r, bench));
        }
        return drawn;
    }

    /**
     * Why the best point of a size misses the ratio: whether the job grows with its parallelism, the
     * cores it used against the host's, and its phases, from the measured numbers.
     */
    static String why(Results r, String bench) {
        StringBuilder sb = new StringBuilder();
        Map<String, List<String>> bySize = new LinkedHashMap<>();
        for (String c : curveCases(r, bench)) {
            bySize.computeIfAbsent(point(c).group(1), k -> new ArrayList<>()).add(c);
        }
        for (Map.Entry<String, String> e : bestPerSize(r, bench).entrySet()) {
            String best = e.getValue();
            double ratio = r.median(bench, best, "ratio_job_parallel_consumer");
            if (Double.isNaN(ratio) || ratio >= RATIO_TARGET) {
                continue;
            }
            List<String> cases = bySize.get(e.getKey());
            String first = cases.get(0);
            String last = cases.get(cases.size() - 1);
            double stream = r.median(bench, best, "job_stream_ms");
            double verify = r.median(bench, best, "job_verify_ms");
            double commit = r.median(bench, best, "job_commit_wait_ms");
            sb.append("### ").append(bench).append(' ').append(e.getKey()).append(": the job reaches ")
                    .append(Table.ratio(ratio)).append(" of N parallel consumers at best (").append(best)
                    .append(", target 1.0×)\n\n");
            sb.append(String.format(java.util.Locale.ROOT,
                    "- **Scaling.** %s GB/s at %s, %s GB/s at %s (%s); one consumer reads %s GB/s, N in a group %s "
                            + "GB/s.%n- **CPU.** The job used %s cores at its best point and the broker %s.%n"
                            + "- **Phases at the best point.** Staging %s s, verification %s s, commit wait %s s.%n%n",
                    Table.num(r.median(bench, first, "job_gbps")), first, Table.num(r.median(bench, last, "job_gbps")),
                    last, Table.ratio(r.median(bench, last, "job_gbps") / r.median(bench, first, "job_gbps")),
                    Table.num(r.median(bench, best, "single_consumer_gbps")),
                    Table.num(r.median(bench, best, "parallel_consumer_gbps")),
                    Table.num(r.median(bench, best, "job_cores")), Table.num(r.median(bench, best, "broker_cores")),
                    Table.num(stream / 1000), Table.num(verify / 1000), Table.num(commit / 1000)));
            StageReport.Drop drop = StageReport.largestDrop(r, bench, best);
            if (drop != null && StageReport.has(r, bench)) {
                sb.setLength(sb.length() - 1);
                sb.append(String.format(java.util.Locale.ROOT, "- **Stage that holds it back at %s.** %s: %s of %s "
                                + "(%s GB/s after %s GB/s); every stage: %s.%n%n", best, drop.stage().replace('_', ' '),
                        Table.ratio(drop.ratio()), drop.from().replace('_', ' '),
                        Table.num(r.median(bench, best, drop.stage() + "_gbps")),
                        Table.num(r.median(bench, best, drop.from() + "_gbps")),
                        String.join(", ", StageReport.measured(r, bench, best).entrySet().stream()
                                .map(e2 -> e2.getKey().replace('_', ' ') + " " + Table.num(e2.getValue())).toList())));
            }
        }
        return sb.toString();
    }

    static Table console(Results r, String bench) {
        Table t = curveTable(r, bench);
        for (List<String> row : latencyTable(r, bench).rows()) {
            t.row(row.get(0), row.get(1), "last record → active " + row.get(2) + " ms", "", "", "", "", "");
        }
        return t;
    }
}
