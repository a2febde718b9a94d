package io.weightpub.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Turns a results folder's CSVs into {@code report.md} (targets table, environment, one section per
 * benchmark, why each missed target was missed and what would close it), {@code summary.csv}
 * (median, min, max per metric) and the PNG plots.
 */
public final class Report {

    static final String[] E2E_BENCHES = {"e2e", "e2e-cuda", "e2e-gpu"};

    private Report() {}

    public static void write(Path dir) throws IOException {
        Results results = Results.read(dir);
        if (results.all().isEmpty()) {
            throw new IOException("no benchmark CSVs in " + dir + "; run a benchmark first");
        }
        writeSummaryCsv(dir, results);
        List<String> plotNotes = new ArrayList<>();
        Set<String> plots = new LinkedHashSet<>();
        try {
            plots.addAll(ReportPlots.drawPlots(dir, results));
        } catch (Throwable e) { // no AWT in a trimmed JRE: the report still gets written
            plotNotes.add("Plots were not drawn here: " + e);
        }
        String md = ReportMarkdown.markdown(results, plots, plotNotes);
        Files.writeString(dir.resolve("report.md"), md, StandardCharsets.UTF_8);
        System.out.print(Targets.targetsTable(results).console());
        System.out.println("wrote " + dir.resolve("report.md") + ", " + dir.resolve("summary.csv") + " and "
                + plots.size() + " plot(s)");
    }

    // ------------------------------------------------------------------ summary

    static void writeSummaryCsv(Path dir, Results results) throws IOException {
        List<List<String>> rows = new ArrayList<>();
        Set<String> benches = new LinkedHashSet<>();
        results.all().forEach(m -> benches.add(m.bench()));
        for (String bench : benches) {
            for (String c : results.cases(bench)) {
                for (String metric : results.metrics(bench, c)) {
                    List<Double> v = results.values(bench, c, metric);
                    rows.add(List.of(bench, c, metric, Results.number(Stats.median(v)),
                            Results.number(Stats.min(v)), Results.number(Stats.max(v)), String.valueOf(v.size()),
                            results.unit(bench, metric).orElse("")));
                }
            }
        }
        Csv.write(dir.resolve("summary.csv"), List.of("bench", "case", "metric", "median", "min", "max", "n", "unit"),
                rows);
    }

    /** A short table of one benchmark, printed after it ran. */
    static String consoleSummary(Results r, String bench) {
        Table t;
        if (CurveReport.isCurve(r, bench)) {
            t = CurveReport.console(r, bench);
        } else if (bench.startsWith("e2e")) {
            t = new Table("case", "runs", "consumer MB/s", "floor MB/s", "job MB/s", "job wall MB/s", "job/consumer",
                    "floor/consumer");
            for (String c : r.cases(bench)) {
                if (skipped(r, bench, c)) {
                    t.row(c, 0, "skipped", "", "", "", "", "");
                    continue;
                }
                t.row(c, r.values(bench, c, "job_mbps").size(), Table.num(r.median(bench, c, "consumer_mbps")),
                        Table.num(r.median(bench, c, "floor_mbps")), Table.num(r.median(bench, c, "job_mbps")),
                        Table.num(r.median(bench, c, "job_wall_mbps")),
                        Table.ratio(r.median(bench, c, "ratio_job_consumer")),
                        Table.ratio(r.median(bench, c, "ratio_floor_consumer")));
            }
        } else if (bench.equals(StageBench.BENCH)) {
            t = ReportTables.stageTable(r);
        } else if (bench.equals(MemoryBench.BENCH)) {
            t = ReportTables.memoryTable(r);
        } else if (bench.equals(PublisherBench.BENCH)) {
            t = ReportTables.publisherTable(r);
        } else {
            t = metricTable(r, bench);
        }
        return t.console();
    }

    /** Every metric of a benchmark, one row per case and metric (median over runs). */
    static Table metricTable(Results r, String bench) {
        Table t = new Table("case", "metric", "median", "unit");
        for (String c : r.cases(bench)) {
            for (String m : r.metrics(bench, c)) {
                t.row(c, m, Table.num(r.median(bench, c, m)), r.unit(bench, m).orElse(""));
            }
        }
        return t;
    }

    static boolean skipped(Results r, String bench, String c) {
        return !r.values(bench, c, "skipped_needs_bytes").isEmpty();
    }

}
