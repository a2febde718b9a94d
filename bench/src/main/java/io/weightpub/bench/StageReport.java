package io.weightpub.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-stage breakdown of {@link EndToEndBench}'s curve: at each point, the Kafka ceilings and the
 * job cut after each of its stages, in data-path order, so the stage that holds the job back is the
 * one whose throughput drops most from the stage before it.
 */
final class StageReport {

    /** A stage of the data path: its metric prefix and its name in tables and plots. */
    record Stage(String metric, String label) {}

    /** The data path in order: what each stage adds to the one before it. */
    static final List<Stage> PATH = List.of(
            new Stage("parallel_consumer", "N consumers (group)"),
            new Stage("source", "source"),
            new Stage("checker", "checker"),
            new Stage("network", "network"),
            new Stage("job_host", "job, host stores"),
            new Stage("job", "job"));

    /** The largest drop along the path at one point: {@code stage} delivers {@code ratio} of {@code from}. */
    record Drop(String from, String stage, double ratio) {}

    /** How a stage plot's file name ends (after {@code <bench>-curve-<size>}). */
    static final String STAGES_PLOT = "-stages.png";

    private StageReport() {}

    /** Whether any point of the bench has stage figures. */
    static boolean has(Results r, String bench) {
        return CurveReport.curveCases(r, bench).stream().anyMatch(c -> !r.values(bench, c, "source_gbps").isEmpty()
                || !r.values(bench, c, "checker_gbps").isEmpty() || !r.values(bench, c, "network_gbps").isEmpty());
    }

    private static String label(Stage s, String bench, Results r) {
        if (!s.metric().equals("job")) {
            return s.label();
        }
        // GpuBench --host-stores writes the GPU bench with host stores, and says so in its environment
        String stores = r.environments().getOrDefault(bench, Map.of()).getOrDefault("stores", "");
        return bench.equals("e2e") || stores.startsWith("host") ? "job, host stores" : "job, CUDA stores";
    }

    /** The measured stages of a point, in path order, with their median GB/s. */
    static Map<String, Double> measured(Results r, String bench, String c) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Stage s : PATH) {
            double v = r.median(bench, c, s.metric() + "_gbps");
            if (!Double.isNaN(v) && !r.values(bench, c, s.metric() + "_gbps").isEmpty()) {
                out.put(s.metric(), v);
            }
        }
        return out;
    }

    /** The step along the measured path with the smallest ratio (null with fewer than two stages). */
    static Drop largestDrop(Results r, String bench, String c) {
        Drop worst = null;
        String previous = null;
        double previousGbps = Double.NaN;
        for (Map.Entry<String, Double> e : measured(r, bench, c).entrySet()) {
            if (previous != null) {
                double ratio = e.getValue() / previousGbps;
                if (worst == null || ratio < worst.ratio()) {
                    worst = new Drop(previous, e.getKey(), ratio);
                }
            }
            previous = e.getKey();
            previousGbps = e.getValue();
        }
        return worst;
    }

    private static String name(String metric) {
        return metric.replace('_', ' ');
    }

    static Table table(Results r, String bench) {
        List<String> header = new ArrayList<>(List.of("case", "1 consumer"));
        List<Stage> stages = PATH.stream().filter(s -> CurveReport.curveCases(r, bench).stream()
                .anyMatch(c -> !r.values(bench, c, s.metric() + "_gbps").isEmpty())).toList();
        stages.forEach(s -> header.add(label(s, bench, r) + " GB/s"));
        header.add("largest drop");
        header.add("cores: " + String.join(" / ", stages.stream().filter(s -> !s.metric().equals("parallel_consumer"))
                .map(s -> name(s.metric())).toList()));
        Table t = new Table(header.toArray(String[]::new));
        for (String c : CurveReport.curveCases(r, bench)) {
            List<Object> row = new ArrayList<>(List.of(c, Table.num(r.median(bench, c, "single_consumer_gbps"))));
            stages.forEach(s -> row.add(Table.num(r.median(bench, c, s.metric() + "_gbps"))));
            Drop d = largestDrop(r, bench, c);
            row.add(d == null ? "—" : name(d.from()) + " → " + name(d.stage()) + " " + Table.ratio(d.ratio()));
            row.add(String.join(" / ", stages.stream().filter(s -> !s.metric().equals("parallel_consumer"))
                    .map(s -> Table.num(r.median(bench, c, s.metric() + "_cores"))).toList()));
            t.row(row.toArray());
        }
        return t;
    }

    static String markdown(Results r, String bench) {
        StringBuilder md = new StringBuilder("### Stage by stage\n\n");
        md.append("At each point, in the same run and on the same topic, the job cut after each stage (built from ")
                .append("the job's own builders, each in a fresh JVM; `bench/StageJob`): **source** = the job's ")
                .append("Kafka source at that parallelism into a counting sink chained to each reader; **checker** = ")
                .append("source and chunk checkers, the checked payloads counted where they are made; **network** = ")
                .append("the checked payloads sent over Flink's network to one counting subtask (one worker's intake ")
                .append("without a store); **job, host stores** / **job** = the whole job with one worker. GB/s from ")
                .append("the first record (chunk) to the last (source, checker, network) or from the first staged ")
                .append("chunk to the version active (job); cores are the job JVM's over that window. The largest ")
                .append("drop is the step along the path with the smallest ratio: the stage that holds the job back.")
                .append("\n\n");
        md.append(table(r, bench).markdown()).append('\n');
        Map<String, Integer> drops = new LinkedHashMap<>();
        for (String c : CurveReport.curveCases(r, bench)) {
            Drop d = largestDrop(r, bench, c);
            if (d != null) {
                drops.merge(name(d.from()) + " → " + name(d.stage()), 1, Integer::sum);
            }
        }
        if (!drops.isEmpty()) {
            md.append("Largest drop, by number of points: ");
            List<String> parts = new ArrayList<>();
            drops.forEach((k, v) -> parts.add(k + " (" + v + ")"));
            md.append(String.join(", ", parts)).append(".\n\n");
        }
        return md.toString();
    }

    /** One PNG per size: every measured stage's GB/s over parallelism. */
    static List<String> plots(Path dir, Results r, String bench) throws IOException {
        Map<String, List<String>> bySize = new LinkedHashMap<>();
        for (String c : CurveReport.curveCases(r, bench)) {
            bySize.computeIfAbsent(CurveReport.point(c).group(1), k -> new ArrayList<>()).add(c);
        }
        List<String> drawn = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : bySize.entrySet()) {
            List<String> cases = e.getValue();
            double[] x = cases.stream().mapToDouble(c -> Integer.parseInt(CurveReport.point(c).group(3))).toArray();
            Map<String, double[]> series = Plots.ordered();
            series.put("1 consumer", cases.stream().mapToDouble(c -> r.median(bench, c, "single_consumer_gbps"))
                    .toArray());
            for (Stage s : PATH) {
                double[] y = cases.stream().mapToDouble(c -> r.median(bench, c, s.metric() + "_gbps")).toArray();
                if (java.util.Arrays.stream(y).noneMatch(Double::isNaN)) {
                    series.put(label(s, bench, r), y);
                }
            }
            if (series.size() < 3) {
                continue;
            }
            String name = bench + "-curve-" + e.getKey().toLowerCase() + STAGES_PLOT;
            Plots.lines(dir.resolve(name), bench + ": " + e.getKey() + " version, GB/s of each stage by parallelism",
                    "parallelism", "GB/s (median)", x, series, Map.of(), "");
            drawn.add(name);
        }
        return drawn;
    }
}
