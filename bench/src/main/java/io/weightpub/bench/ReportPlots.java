package io.weightpub.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The report's PNG plots (XChart). */
final class ReportPlots {

    private ReportPlots() {}

    static List<String> drawPlots(Path dir, Results r) throws IOException {
        List<String> drawn = new ArrayList<>();
        for (String bench : Report.E2E_BENCHES) {
            if (CurveReport.isCurve(r, bench)) {
                drawn.addAll(CurveReport.plots(dir, r, bench));
            }
        }
        if (r.has("e2e") && !CurveReport.isCurve(r, "e2e")) {
            List<String> cats = new ArrayList<>();
            List<Double> consumer = new ArrayList<>();
            List<Double> floor = new ArrayList<>();
            List<Double> job = new ArrayList<>();
            for (String c : r.cases("e2e")) {
                if (Report.skipped(r, "e2e", c)) {
                    continue;
                }
                cats.add(c + " (" + Table.ratio(r.median("e2e", c, "ratio_job_consumer")) + ")");
                consumer.add(r.median("e2e", c, "consumer_mbps"));
                floor.add(r.median("e2e", c, "floor_mbps"));
                job.add(r.median("e2e", c, "job_mbps"));
            }
            if (!cats.isEmpty()) {
                Map<String, List<Double>> series = Plots.ordered();
                series.put("raw consumer (Kafka ConsumerPerformance)", consumer);
                series.put("Flink floor (KafkaSource -> DiscardingSink)", floor);
                series.put("weightpub job (host stores)", job);
                Plots.bars(dir.resolve("e2e.png"), "End to end, host sink: MB/s by model size / workers (job/consumer)",
                        "MB/s (median, data plane)", cats, series, false);
                drawn.add("e2e.png");
            }
        }
        CostModel model = CostModel.from(r);
        if (model.complete()) {
            List<String> cats = new ArrayList<>();
            List<Integer> ws = ReportMarkdown.workerCounts(r);
            for (int w : ws) {
                cats.add("sum of stages, " + w + "w");
            }
            List<Integer> measuredWs = new ArrayList<>();
            for (int w : ws) {
                if (!Double.isNaN(ReportMarkdown.measuredJob(r, w))) {
                    cats.add("job, " + w + "w");
                    measuredWs.add(w);
                }
            }
            boolean consumer = !Double.isNaN(ReportMarkdown.measuredConsumer(r));
            if (consumer) {
                cats.add("raw consumer");
            }
            Map<String, List<Double>> series = Plots.ordered();
            for (String part : model.parts(1).keySet()) {
                List<Double> ys = new ArrayList<>();
                for (int w : ws) {
                    ys.add(model.parts(w).get(part));
                }
                for (int i = 0; i < measuredWs.size() + (consumer ? 1 : 0); i++) {
                    ys.add(0.0);
                }
                series.put(CostModel.label(part), ys);
            }
            List<Double> measured = new ArrayList<>();
            for (int i = 0; i < ws.size(); i++) {
                measured.add(0.0);
            }
            for (int w : measuredWs) {
                measured.add(ReportMarkdown.measuredJob(r, w));
            }
            if (consumer) {
                measured.add(ReportMarkdown.measuredConsumer(r));
            }
            series.put("measured end to end (e2e)", measured);
            Plots.bars(dir.resolve("stages.png"), "Where the time goes: ns per byte of the model", "ns/byte", cats,
                    series, true);
            drawn.add("stages.png");
        }
        if (r.has(MemoryBench.BENCH)) {
            Targets.Flatness heap = Targets.flatness(r, "heap_live_max");
            Targets.Flatness peak = Targets.flatness(r, "heap_max_used");
            Targets.Flatness state = Targets.flatness(r, "state_max");
            if (heap.sizes().length > 0) {
                double[] x = java.util.Arrays.stream(heap.sizes()).map(b -> b / (1L << 30)).toArray();
                Map<String, double[]> left = Plots.ordered();
                left.put("live heap after GC (max)", mib(heap.values()));
                left.put("peak heap used", mib(peak.values()));
                Map<String, double[]> right = Plots.ordered();
                right.put("checkpointed state (max, KiB)",
                        java.util.Arrays.stream(state.values()).map(v -> v / 1024).toArray());
                Plots.lines(dir.resolve("memory.png"), "Job memory vs model size (1 worker, host store)",
                        "model size (GiB)", "heap (MiB)", x, left, right, "checkpointed state (KiB)");
                drawn.add("memory.png");
            }
        }
        if (r.has(PublisherBench.BENCH)) {
            List<String> cats = new ArrayList<>();
            List<Double> tool = new ArrayList<>();
            List<Double> pub = new ArrayList<>();
            for (String c : r.cases(PublisherBench.BENCH)) {
                cats.add(c + " (" + Table.ratio(r.median(PublisherBench.BENCH, c, "ratio_publisher_producer")) + ")");
                tool.add(r.median(PublisherBench.BENCH, c, "producer_perf_mbps"));
                pub.add(r.median(PublisherBench.BENCH, c, "publisher_mbps"));
            }
            Map<String, List<Double>> series = Plots.ordered();
            series.put("Kafka ProducerPerformance", tool);
            series.put("WeightPublisher", pub);
            Plots.bars(dir.resolve("publisher.png"), "Publisher vs ProducerPerformance (publisher/producer)",
                    "MB/s (median)", cats, series, false);
            drawn.add("publisher.png");
        }
        return drawn;
    }

    private static double[] mib(double[] bytes) {
        return java.util.Arrays.stream(bytes).map(b -> b / (1 << 20)).toArray();
    }
}
