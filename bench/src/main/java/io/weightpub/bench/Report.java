package io.weightpub.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Turns a results folder's CSVs into {@code report.md} (targets table, environment, one section per
 * benchmark, why each missed target was missed and what would close it), {@code summary.csv}
 * (median, min, max per metric) and the PNG plots.
 */
public final class Report {

    static final double E2E_TARGET = 0.9;
    static final double GPU_STAGING_TARGET = 0.9;
    static final double FLIP_P99_TARGET_US = 1000;
    static final double REPLAY_TARGET = 0.8;
    /** "Flat": the live heap grows by less than 1 % of the model's bytes. */
    static final double HEAP_SLOPE_TARGET = 0.01;
    /** "Flat": checkpointed state grows by less than 1 MiB per GiB of model (0.1 %). */
    static final double STATE_SLOPE_TARGET = 1.0 / 1024;
    static final String[] E2E_BENCHES = {"e2e", "e2e-cuda", "e2e-gpu"};

    /** One row of the targets table. */
    record Target(String benchmark, String ceiling, String project, String ratio, String target, String met) {}

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
            plots.addAll(drawPlots(dir, results));
        } catch (Throwable e) { // no AWT in a trimmed JRE: the report still gets written
            plotNotes.add("Plots were not drawn here: " + e);
        }
        String md = markdown(results, plots, plotNotes);
        Files.writeString(dir.resolve("report.md"), md, StandardCharsets.UTF_8);
        System.out.print(targetsTable(results).console());
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
            t = stageTable(r);
        } else if (bench.equals(MemoryBench.BENCH)) {
            t = memoryTable(r);
        } else if (bench.equals(PublisherBench.BENCH)) {
            t = publisherTable(r);
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

    // ------------------------------------------------------------------ targets

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
        for (String bench : E2E_BENCHES) {
            if (CurveReport.isCurve(r, bench)) {
                list.addAll(CurveReport.targets(r, bench));
                continue;
            }
            String where = bench.equals("e2e") ? "end to end, host sink" : "end to end, GPU (" + bench.substring(4) + ")";
            for (String c : r.cases(bench)) {
                if (skipped(r, bench, c)) {
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

    // ------------------------------------------------------------------ tables

    static Table stageTable(Results r) {
        CostModel model = CostModel.from(r);
        Table t = new Table("stage", "ns/byte", "GB/s", "paid", "what");
        List<String> rows = new ArrayList<>(CostModel.STAGES);
        rows.addAll(CostModel.REFERENCE);
        for (String s : rows) {
            double ns = model.stage(s);
            if (Double.isNaN(ns)) {
                continue;
            }
            String paid = switch (s) {
                case "kafkaFetch", "assembler" -> "once";
                case "chunkParse", "crc32c" -> "once (inside assembler)";
                case "avroDecode" -> "not any more";
                case "eventSerde" -> "per worker, 2+ workers";
                case "slotFirstTouch" -> "per worker, first two versions (instead of the copy)";
                default -> "per worker";
            };
            String what = switch (s) {
                case "kafkaFetch" -> "ConsumerPerformance on a fresh topic, median of runs";
                case "chunkParse" -> "ChunkView.parse of a 1 MiB chunk record (payload left in place)";
                case "avroDecode" -> "WireCodec.CHUNK.decode (Avro, copies the payload)";
                case "crc32c" -> "java.util.zip.CRC32C of the payload";
                case "assembler" -> "VersionAssembler in Flink's keyed harness, per chunk";
                case "eventSerde" -> "WeightEventSerializer (payload slice) through DataOutput/InputView";
                case "slotCopy" -> "HOST WeightStore.write into an off-heap slot";
                case "slotFirstTouch" -> "the same write into a slot no version used yet (fresh 64 MiB mapping)";
                case "sha256" -> "MessageDigest SHA-256 of the payload";
                default -> "";
            };
            t.row(CostModel.label(s), String.format(Locale.ROOT, "%.4f", ns), Table.num(1 / ns), paid, what);
        }
        return t;
    }

    static Table memoryTable(Results r) {
        Table t = new Table("model", "runs", "live heap after GC (max)", "peak heap used", "checkpointed state (max)",
                "checkpoints", "store (off-heap)");
        for (String c : r.cases(MemoryBench.BENCH)) {
            if (!r.values(MemoryBench.BENCH, c, "skipped_needs_bytes").isEmpty()) {
                t.row(c, 0, "skipped", "", "", "", "");
                continue;
            }
            t.row(c, r.values(MemoryBench.BENCH, c, "heap_live_max").size(),
                    Table.size((long) r.median(MemoryBench.BENCH, c, "heap_live_max")),
                    Table.size((long) r.median(MemoryBench.BENCH, c, "heap_max_used")),
                    Table.size((long) r.median(MemoryBench.BENCH, c, "state_max")),
                    Table.num(r.median(MemoryBench.BENCH, c, "checkpoints")),
                    Table.size((long) r.median(MemoryBench.BENCH, c, "slot_bytes")));
        }
        return t;
    }

    static Table publisherTable(Results r) {
        Table t = new Table("model", "runs", "ProducerPerformance MB/s", "publisher MB/s", "publisher/producer",
                "record bytes");
        for (String c : r.cases(PublisherBench.BENCH)) {
            t.row(c, r.values(PublisherBench.BENCH, c, "publisher_mbps").size(),
                    Table.num(r.median(PublisherBench.BENCH, c, "producer_perf_mbps")),
                    Table.num(r.median(PublisherBench.BENCH, c, "publisher_mbps")),
                    Table.ratio(r.median(PublisherBench.BENCH, c, "ratio_publisher_producer")),
                    Table.num(r.median(PublisherBench.BENCH, c, "record_bytes")));
        }
        return t;
    }

    static Table e2eTable(Results r, String bench) {
        Table t = new Table("case", "runs", "raw consumer MB/s", "Flink floor MB/s", "job MB/s (data plane)",
                "job MB/s (wall)", "job / consumer", "floor / consumer", "job / floor", "job live heap",
                "checkpointed state");
        for (String c : r.cases(bench)) {
            if (skipped(r, bench, c)) {
                t.row(c, 0, "skipped: needs " + Table.size((long) r.median(bench, c, "skipped_needs_bytes"))
                        + " of memory", "", "", "", "", "", "", "", "");
                continue;
            }
            t.row(c, r.values(bench, c, "job_mbps").size(), Table.num(r.median(bench, c, "consumer_mbps")),
                    Table.num(r.median(bench, c, "floor_mbps")), Table.num(r.median(bench, c, "job_mbps")),
                    Table.num(r.median(bench, c, "job_wall_mbps")),
                    Table.ratio(r.median(bench, c, "ratio_job_consumer")),
                    Table.ratio(r.median(bench, c, "ratio_floor_consumer")),
                    Table.ratio(r.median(bench, c, "ratio_job_floor")),
                    Table.size((long) r.median(bench, c, "job_heap_live_max")),
                    Table.size((long) r.median(bench, c, "job_state_max")));
        }
        return t;
    }

    static Table phasesTable(Results r, String bench) {
        Table t = new Table("case", "staging MB/s", "staging s", "verify s", "commit wait s",
                "share staging / verify / commit");
        for (String c : r.cases(bench)) {
            if (skipped(r, bench, c) || r.values(bench, c, "job_stream_ms").isEmpty()) {
                continue;
            }
            double stream = r.median(bench, c, "job_stream_ms");
            double verify = r.median(bench, c, "job_verify_ms");
            double commit = r.median(bench, c, "job_commit_wait_ms");
            double total = stream + verify + commit;
            t.row(c, Table.num(r.median(bench, c, "job_stream_mbps")), Table.num(stream / 1000),
                    Table.num(verify / 1000), Table.num(commit / 1000), String.format(Locale.ROOT,
                            "%.0f %% / %.0f %% / %.0f %%", 100 * stream / total, 100 * verify / total,
                            100 * commit / total));
        }
        return t;
    }

    // ------------------------------------------------------------------ markdown

    static String markdown(Results r, Set<String> plots, List<String> plotNotes) {
        StringBuilder md = new StringBuilder();
        md.append("# weightpub benchmarks: latest report\n\n");
        md.append("Generated from the CSVs in this folder by `scripts/bench.sh report` (raw runs in `<bench>.csv`, ")
                .append("medians in `summary.csv`). Every ceiling is measured in the same run as the project, on ")
                .append("the same topic and broker; numbers are medians over the runs, and each ratio is the median ")
                .append("of per-run ratios, so a slow phase of a noisy machine hits both sides alike.\n\n");
        // Benchmarks run at different times and places: each one's note says how it was measured.
        List<String> notes = new ArrayList<>();
        r.environments().forEach((bench, env) -> {
            String note = env.get("note");
            if (note != null && !note.isBlank()) {
                notes.add("> **" + bench + "**: " + note + "\n");
            }
        });
        if (!notes.isEmpty()) {
            md.append(String.join(">\n", notes)).append('\n');
        }
        if (plots.contains("e2e.png")) {
            md.append("![End to end: job vs raw consumer and Flink floor](e2e.png)\n\n");
        }
        md.append("## Targets\n\n").append(targetsTable(r).markdown()).append('\n');
        md.append("Missed targets are explained under [Why targets are missed](#why-targets-are-missed-and-what-")
                .append("would-close-them).\n\n");

        md.append("## Environment\n\n").append(environmentTable(r).markdown()).append('\n');

        for (String bench : E2E_BENCHES) {
            if (!r.has(bench)) {
                continue;
            }
            if (CurveReport.isCurve(r, bench)) {
                md.append(CurveReport.markdown(r, bench, plots.stream()
                        .filter(p -> p.startsWith(bench + "-curve-")).toList()));
                continue;
            }
            md.append(bench.equals("e2e") ? "## End to end, host sink\n\n" : "## End to end on the GPU host\n\n");
            md.append("Per model size one version is published to fresh topics; each run then measures back to back ")
                    .append("on that chunks topic (in page cache): Kafka's `ConsumerPerformance`, the Flink floor ")
                    .append("(bounded `KafkaSource` → `DiscardingSink` on a MiniCluster), the job with each worker ")
                    .append("count (`source.stop-at-latest`, ")
                    .append(bench.equals("e2e") ? "host stores" : "CUDA stores")
                    .append(", checkpoints every 200 ms, commit on checkpoint), and `ConsumerPerformance` again; ")
                    .append("the run's ceiling is the mean of the two consumer runs. Each contender runs in a fresh ")
                    .append("JVM. **Ratios use data-plane time**: the consumer's `fetch.time.ms` (group join ")
                    .append("excluded), the floor's first to last record, the job's first staged chunk to the last ")
                    .append("worker's commit. *Wall* adds the job's start (submission to commit).\n\n");
            md.append(e2eTable(r, bench).markdown()).append('\n');
            Table phases = phasesTable(r, bench);
            if (!phases.rows().isEmpty()) {
                md.append("The job's data plane in phases (medians, the slowest worker, from the workers' own ")
                        .append("status records): staging, from the first chunk until the commit event reaches the ")
                        .append("sink; verification, the sink's verify call after the last chunk (outstanding ")
                        .append("slot writes and SHA-256 digests, then the comparison), during which nothing else ")
                        .append("moves; and the wait for the checkpoint that commits:\n\n").append(phases.markdown()).append('\n');
            }
        }

        if (r.has(StageBench.BENCH)) {
            md.append("## Where the time goes\n\n");
            md.append("JMH (1 fork, 2 × 1 s warm-up, 3 × 1 s measurement) on one chunk of 1,044,480 payload bytes; ")
                    .append("the Kafka fetch is `ConsumerPerformance` on a fresh topic. Per byte of the model:\n\n");
            md.append(stageTable(r).markdown()).append('\n');
            md.append(costModelText(r)).append('\n');
            if (plots.contains("stages.png")) {
                md.append("![Per-byte cost by stage](stages.png)\n\n");
            }
        }

        if (r.has(MemoryBench.BENCH)) {
            md.append("## Memory\n\n");
            md.append("The job (one worker, host store) on each model size in a fresh JVM (`-Xmx2g`, G1): the ")
                    .append("heap sampled every 20 ms (peak, garbage included) and after every collection (live), ")
                    .append("and the largest completed checkpoint from the MiniCluster's checkpoint statistics. ")
                    .append("The store's slot is off-heap and holds the model once.\n\n");
            md.append(memoryTable(r).markdown()).append('\n');
            if (plots.contains("memory.png")) {
                md.append("![Heap and checkpointed state vs model size](memory.png)\n\n");
            }
        }

        if (r.has(PublisherBench.BENCH)) {
            md.append("## Publisher\n\n");
            md.append("`WeightPublisher` (idempotent, `acks=all`, not transactional) publishing a synthetic ")
                    .append("Llama-shaped model against Kafka's `ProducerPerformance` with the publisher's own ")
                    .append("producer settings, records the size of an encoded chunk record and as many as the ")
                    .append("publish has chunks, to a topic with the chunks topic's settings; the ceiling is the mean ")
                    .append("of a tool run before and after the publish. The publisher's time includes the manifest ")
                    .append("and its acknowledgement. Two differences favour the publisher: it runs in the ")
                    .append("benchmark's JVM, warm from publishing before, while the tool starts a fresh JVM; and ")
                    .append("the tool spreads its records over all chunk partitions while the publisher keys them by ")
                    .append("bucket (a 1 GiB model fills two 512 MiB buckets, so two partitions with longer ")
                    .append("batches). A ratio near or above 1 says the publisher is not what limits a publish.\n\n");
            md.append(publisherTable(r).markdown()).append('\n');
            if (plots.contains("publisher.png")) {
                md.append("![Publisher vs ProducerPerformance](publisher.png)\n\n");
            }
        }

        md.append("## GPU\n\n");
        if (r.has("gpu")) {
            md.append("From `GpuBench` on the GPU host (the sink's `CudaStagingBenchmark`: best of rounds for ")
                    .append("bandwidths, all flips for latency):\n\n");
            md.append(metricTable(r, "gpu").markdown()).append('\n');
        } else {
            md.append("Pending: these run on a GPU host. `scripts/bench.sh gpu-prepare DIR` writes ")
                    .append("`DIR/weightpub-gpu.tar.gz` (a jlink'ed runtime and the classes the benchmark loads); on ")
                    .append("the GPU host `tar xzf weightpub-gpu.tar.gz -C /opt/w && /opt/w/jre/bin/java -cp ")
                    .append("'/opt/w/lib/*' io.weightpub.bench.GpuBench OUT` measures pinned H2D bandwidth, staging ")
                    .append("throughput, flip latency under concurrent readers and the job end to end from a broker ")
                    .append("on that host (docs/benchmarks.md).\n\n");
        }

        md.append("## Rollback and recovery\n\n");
        if (r.has("rollback")) {
            md.append(metricTable(r, "rollback").markdown()).append('\n');
        } else {
            md.append("Pending. The sink's replay (re-reading a version's chunks from Kafka by the version index, ")
                    .append("for rollbacks to a version that is no longer resident and for a worker that lost its ")
                    .append("memory) landed while this benchmark suite was written, so it has no benchmark yet. ")
                    .append("The next command, `scripts/bench.sh rollback`, will measure rollback to a resident ")
                    .append("version (target < 10 ms), rollback by replay and recovery time after a lost worker ")
                    .append("(target ≥ 0.8× the raw consumer, `ConsumerPerformance` on the same topic in the same ")
                    .append("run) and fill this section.\n\n");
        }

        md.append("## Why targets are missed and what would close them\n\n");
        String why = whyText(r);
        md.append(why.isEmpty() ? "Every measured target is met.\n" : why);
        for (String n : plotNotes) {
            md.append("\n_").append(n).append("_\n");
        }
        return md.toString();
    }

    static Table environmentTable(Results r) {
        List<String> benches = new ArrayList<>(r.environments().keySet());
        List<String> header = new ArrayList<>();
        header.add("");
        header.addAll(benches);
        Table t = new Table(header.toArray(String[]::new));
        Set<String> keys = new LinkedHashSet<>();
        r.environments().values().forEach(e -> keys.addAll(e.keySet()));
        keys.remove("note");
        for (String key : keys) {
            List<String> row = new ArrayList<>();
            row.add(key);
            for (String b : benches) {
                row.add(r.environments().get(b).getOrDefault(key, ""));
            }
            t.row(row.toArray());
        }
        return t;
    }

    static String costModelText(Results r) {
        CostModel model = CostModel.from(r);
        if (!model.complete()) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        sb.append("Adding the stages up (one core, no overlap; serde paid only when chunks cross the network, ")
                .append("i.e. with 2+ workers):\n\n");
        Table t = new Table("workers", "modelled ns/byte", "of which beyond the fetch", "largest extra stage",
                "measured job ns/byte (largest size)", "measured raw consumer ns/byte");
        for (int w : workerCounts(r)) {
            double measured = measuredJob(r, w);
            double consumer = measuredConsumer(r);
            String largest = model.largestExtra(w);
            t.row(w, String.format(Locale.ROOT, "%.3f", model.total(w)),
                    String.format(Locale.ROOT, "%.3f", model.beyondFetch(w)),
                    CostModel.label(largest) + String.format(Locale.ROOT, " (%.0f %%)",
                            100 * model.parts(w).get(largest) / model.beyondFetch(w)),
                    Double.isNaN(measured) ? "n/a" : String.format(Locale.ROOT, "%.3f", measured),
                    Double.isNaN(consumer) ? "n/a" : String.format(Locale.ROOT, "%.3f", consumer));
        }
        sb.append(t.markdown()).append('\n');
        sb.append("A measured time below the modelled sum means stages overlap on the two cores (source and ")
                .append("assembler on one task thread, sink verification on its own threads, the broker beside ")
                .append("them).\n");
        return sb.toString();
    }

    static List<Integer> workerCounts(Results r) {
        Set<Integer> ws = new java.util.TreeSet<>();
        ws.add(1);
        // cases "1GiB/3w" and the curve's "1GiB/1w/p4"; others ("1GiB", "budget") name no workers
        java.util.regex.Pattern workers = java.util.regex.Pattern.compile("/(\\d+)w(?:/|$)");
        for (String c : r.cases("e2e")) {
            java.util.regex.Matcher m = workers.matcher(c);
            if (m.find()) {
                ws.add(Integer.parseInt(m.group(1)));
            }
        }
        return new ArrayList<>(ws);
    }

    /** Measured job ns/byte with {@code workers} workers at the largest measured size. */
    static double measuredJob(Results r, int workers) {
        String best = null;
        for (String c : r.cases("e2e")) {
            if (c.endsWith("/" + workers + "w") && !skipped(r, "e2e", c)) {
                best = c;
            }
        }
        return best == null ? Double.NaN : CostModel.nsPerByte(r.median("e2e", best, "job_mbps"));
    }

    static double measuredConsumer(Results r) {
        List<Double> all = new ArrayList<>();
        for (String c : r.cases("e2e")) {
            all.addAll(r.values("e2e", c, "consumer_mbps"));
        }
        return all.isEmpty() ? Double.NaN : CostModel.nsPerByte(Stats.median(all));
    }

    static final Map<String, String> REMEDIES = remedies();

    private static Map<String, String> remedies() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("sha256", "SHA-256 is paid once per worker on every byte; it already overlaps streaming (a bucket is "
                + "hashed on a verify thread as soon as its last chunk lands, while later buckets stream in), so "
                + "what remains is CPU time that competes with the broker and the consumer on the same cores: "
                + "verify on the GPU (the CUDA store hashes device bytes) or give each worker its own host");
        m.put("firstTouch", "a worker's first two versions write into fresh slot memory, and the kernel maps and "
                + "zeroes every 4 KiB page on the writer's thread as it is first written; from the third version "
                + "on the slots are reused and this cost is gone. The benchmark times a first version, so it pays "
                + "it. Pre-faulting slots with transparent huge pages (madvise, which needs native code here) "
                + "would cut it for the first versions too");
        m.put("chunkParse", "parsing is in place already (ChunkView); nothing to gain there");
        m.put("assemblerRest", "the assembler's work beyond parsing and CRC32C (keyed state lookups, progress "
                + "tracking, building the sink event; the JMH number also carries GC of the benchmark's "
                + "per-invocation setup): profile it (JFR) before changing it");
        m.put("crc32c", "CRC32C is an intrinsic already; nothing to gain there");
        m.put("eventSerde", "with 2+ workers every chunk crosses Flink's network stack (serialized once, copied and "
                + "deserialized per worker): give each worker's sink its own chained copy of source and assembler, "
                + "or pass payloads by reference to the workers of one TaskManager");
        m.put("slotCopy", "the sink's copy into the slot runs at memory speed and is needed once per worker; with "
                + "several workers on one host, copy on more threads (the CUDA store's copy threads do this)");
        return m;
    }

    static String whyText(Results r) {
        StringBuilder sb = new StringBuilder();
        CostModel model = CostModel.from(r);
        for (String bench : E2E_BENCHES) {
            if (CurveReport.isCurve(r, bench)) {
                sb.append(CurveReport.why(r, bench));
                continue;
            }
            for (String c : r.cases(bench)) {
                if (skipped(r, bench, c)) {
                    continue;
                }
                double ratio = r.median(bench, c, "ratio_job_consumer");
                if (Double.isNaN(ratio) || ratio >= E2E_TARGET) {
                    continue;
                }
                int workers = Integer.parseInt(c.substring(c.indexOf('/') + 1, c.length() - 1));
                double consumer = r.median(bench, c, "consumer_mbps");
                double floor = r.median(bench, c, "floor_mbps");
                double job = r.median(bench, c, "job_mbps");
                double floorRatio = r.median(bench, c, "ratio_floor_consumer");
                sb.append("### ").append(bench).append(' ').append(c).append(": job ").append(Table.ratio(ratio))
                        .append(" of the raw consumer (target 0.90×)\n\n");
                sb.append(String.format(Locale.ROOT,
                        "- **Framework share.** Flink's floor reads the same topic at %s MB/s, %s of the consumer's "
                                + "%s MB/s: Flink's source path alone costs %.3f ns/byte over the consumer's %.3f. "
                                + "The job reaches %s of that floor.%n",
                        Table.num(floor), Table.ratio(floorRatio), Table.num(consumer),
                        CostModel.nsPerByte(floor) - CostModel.nsPerByte(consumer), CostModel.nsPerByte(consumer),
                        Table.ratio(job / floor)));
                if (!r.values(bench, c, "job_stream_ms").isEmpty()) {
                    double stream = r.median(bench, c, "job_stream_ms");
                    double verify = r.median(bench, c, "job_verify_ms");
                    double commit = r.median(bench, c, "job_commit_wait_ms");
                    double total = stream + verify + commit;
                    sb.append(String.format(Locale.ROOT,
                            "- **Phases.** Of the job's data-plane time, %.0f %% stages chunks (%s MB/s while "
                                    + "staging, %s of the consumer), %.0f %% is the sink's verification after the last "
                                    + "chunk (outstanding writes and digests; nothing else moves meanwhile) and %.0f %% "
                                    + "waits for the committing checkpoint.%n",
                            100 * stream / total, Table.num(r.median(bench, c, "job_stream_mbps")),
                            Table.ratio(r.median(bench, c, "job_stream_mbps") / consumer), 100 * verify / total,
                            100 * commit / total));
                }
                if (model.complete()) {
                    Map<String, Double> parts = model.parts(workers);
                    List<Map.Entry<String, Double>> extra = new ArrayList<>(parts.entrySet());
                    extra.removeIf(e -> e.getKey().equals("kafkaFetch") || e.getValue() <= 0);
                    extra.sort((a, b) -> Double.compare(b.getValue(), a.getValue()));
                    StringBuilder list = new StringBuilder();
                    for (Map.Entry<String, Double> e : extra) {
                        if (list.length() > 0) {
                            list.append(", ");
                        }
                        list.append(CostModel.label(e.getKey())).append(String.format(Locale.ROOT, " %.3f",
                                e.getValue()));
                    }
                    sb.append(String.format(Locale.ROOT,
                            "- **The project's own work** per byte for %d worker(s), from the stage benchmarks "
                                    + "(ns/byte): %s; %.3f ns/byte in all on top of the fetch, against %.3f measured "
                                    + "between the job and the consumer.%n",
                            workers, list, model.beyondFetch(workers),
                            CostModel.nsPerByte(job) - CostModel.nsPerByte(consumer)));
                    sb.append("- **What would close it**, largest first:\n");
                    int n = 0;
                    for (Map.Entry<String, Double> e : extra) {
                        String remedy = REMEDIES.get(e.getKey());
                        if (remedy != null && n++ < 3) {
                            sb.append("  - ").append(CostModel.label(e.getKey())).append(": ").append(remedy)
                                    .append(".\n");
                        }
                    }
                }
                if (floorRatio < E2E_TARGET) {
                    sb.append(String.format(Locale.ROOT,
                            "  - Flink's floor is itself below the target (%s): the job cannot reach 0.9× of the "
                                    + "consumer through the same source path. The consumer tool fetches with a 2 MiB "
                                    + "socket receive buffer, the job's KafkaSource with the client default (64 KiB): "
                                    + "try `kafka.receive.buffer.bytes` and larger `kafka.fetch.max.bytes` / "
                                    + "`kafka.max.partition.fetch.bytes` in the job, and measure the floor with the "
                                    + "same settings.%n",
                            Table.ratio(floorRatio)));
                }
                if (workers > 1) {
                    sb.append(String.format(Locale.ROOT,
                            "  - %d workers share %s cores here: every worker copies and hashes every byte, so "
                                    + "host-sink throughput falls with the worker count on this machine; on a real "
                                    + "deployment each worker is its own host or GPU.%n",
                            workers, r.environments().getOrDefault(bench, Map.of()).getOrDefault("cores", "?")));
                }
                sb.append('\n');
            }
        }
        if (r.has("gpu")) {
            for (Target t : targets(r)) {
                if (t.benchmark().startsWith("GPU staging") && t.met().contains("no")) {
                    sb.append("### GPU staging below 0.9× pinned H2D\n\n")
                            .append(String.format(Locale.ROOT, "Every staged byte is first copied by the CPU from the "
                                    + "Kafka record's heap array into a pinned buffer; the DMA engine is not the limit. "
                                    + "One copy thread moved %.1f GB/s here and eight %.1f GB/s, so the copy threads "
                                    + "share host memory bandwidth with the DMA reads, and the result varies from run to "
                                    + "run on the same host (`results/gpu/README.md` lists earlier runs). What would "
                                    + "close it: copy threads pinned near the GPU's NUMA node and a deeper pinned ring, "
                                    + "or fetching records straight into pinned buffers (no heap copy).\n\n",
                                    r.median("gpu", "staging", "store_staging_copy_threads_1"),
                                    r.median("gpu", "staging", "store_staging_copy_threads_8")));
                }
                if (t.benchmark().startsWith("flip latency") && t.met().contains("no")) {
                    sb.append("### Flip p99 at or above 1 ms\n\n")
                            .append("The flip waits for no lease by design; a slow p99 points at the commit path ")
                            .append("doing work besides the reference swap (status reporting, slot bookkeeping): ")
                            .append("move that after the swap.\n\n");
                }
            }
        }
        for (Target t : targets(r)) {
            if (t.benchmark().startsWith("job heap") && t.met().contains("no")) {
                sb.append("### Job heap grows with the model size\n\n").append(t.project())
                        .append(". Payload bytes should only pass through the heap; growth means something keeps ")
                        .append("them (records buffered in the network stack, or state holding per-chunk data).\n\n");
            }
            if (t.benchmark().startsWith("checkpointed state") && t.met().contains("no")) {
                sb.append("### Checkpointed state grows with the model size\n\n").append(t.project())
                        .append(". The state holds metadata only, but per-chunk bookkeeping (seen-chunk sets, ")
                        .append("offset ranges) grows with the chunk count unless it is kept as ranges.\n\n");
            }
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ plots

    static List<String> drawPlots(Path dir, Results r) throws IOException {
        List<String> drawn = new ArrayList<>();
        for (String bench : E2E_BENCHES) {
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
                if (skipped(r, "e2e", c)) {
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
            List<Integer> ws = workerCounts(r);
            for (int w : ws) {
                cats.add("sum of stages, " + w + "w");
            }
            List<Integer> measuredWs = new ArrayList<>();
            for (int w : ws) {
                if (!Double.isNaN(measuredJob(r, w))) {
                    cats.add("job, " + w + "w");
                    measuredWs.add(w);
                }
            }
            boolean consumer = !Double.isNaN(measuredConsumer(r));
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
                measured.add(measuredJob(r, w));
            }
            if (consumer) {
                measured.add(measuredConsumer(r));
            }
            series.put("measured end to end (e2e)", measured);
            Plots.bars(dir.resolve("stages.png"), "Where the time goes: ns per byte of the model", "ns/byte", cats,
                    series, true);
            drawn.add("stages.png");
        }
        if (r.has(MemoryBench.BENCH)) {
            Flatness heap = flatness(r, "heap_live_max");
            Flatness peak = flatness(r, "heap_max_used");
            Flatness state = flatness(r, "state_max");
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
