package io.weightpub.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** {@code report.md}: targets, environment, one section per benchmark, why each missed target was missed. */
final class ReportMarkdown {

    private ReportMarkdown() {}

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
        md.append("## Targets\n\n").append(Targets.targetsTable(r).markdown()).append('\n');
        md.append("Missed targets are explained under [Why targets are missed](#why-targets-are-missed-and-what-")
                .append("would-close-them).\n\n");

        md.append("## Environment\n\n").append(ReportTables.environmentTable(r).markdown()).append('\n');

        for (String bench : Report.E2E_BENCHES) {
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
            md.append(ReportTables.e2eTable(r, bench).markdown()).append('\n');
            Table phases = ReportTables.phasesTable(r, bench);
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
            md.append(ReportTables.stageTable(r).markdown()).append('\n');
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
            md.append(ReportTables.memoryTable(r).markdown()).append('\n');
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
            md.append(ReportTables.publisherTable(r).markdown()).append('\n');
            if (plots.contains("publisher.png")) {
                md.append("![Publisher vs ProducerPerformance](publisher.png)\n\n");
            }
        }

        md.append("## GPU\n\n");
        if (r.has("gpu")) {
            md.append("From `GpuBench` on the GPU host (the sink's `CudaStagingBenchmark`: best of rounds for ")
                    .append("bandwidths, all flips for latency):\n\n");
            md.append(Report.metricTable(r, "gpu").markdown()).append('\n');
        } else {
            md.append("Pending: these run on a GPU host. `scripts/bench.sh gpu-prepare DIR` writes ")
                    .append("`DIR/weightpub-gpu.tar.xz` (a jlink'ed runtime and the classes the benchmark loads); on ")
                    .append("the GPU host `tar xJf weightpub-gpu.tar.xz -C /opt/w && /opt/w/jre/bin/java -cp ")
                    .append("'/opt/w/lib/*' io.weightpub.bench.GpuBench OUT` measures pinned H2D bandwidth, staging ")
                    .append("throughput, flip latency under concurrent readers and the job end to end from a broker ")
                    .append("on that host (docs/benchmarks.md).\n\n");
        }

        md.append("## Rollback and recovery\n\n");
        if (r.has("rollback")) {
            md.append(Report.metricTable(r, "rollback").markdown()).append('\n');
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
            if (c.endsWith("/" + workers + "w") && !Report.skipped(r, "e2e", c)) {
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
        for (String bench : Report.E2E_BENCHES) {
            if (CurveReport.isCurve(r, bench)) {
                sb.append(CurveReport.why(r, bench));
                continue;
            }
            for (String c : r.cases(bench)) {
                if (Report.skipped(r, bench, c)) {
                    continue;
                }
                double ratio = r.median(bench, c, "ratio_job_consumer");
                if (Double.isNaN(ratio) || ratio >= Targets.E2E_TARGET) {
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
                if (floorRatio < Targets.E2E_TARGET) {
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
            for (Targets.Target t : Targets.targets(r)) {
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
        for (Targets.Target t : Targets.targets(r)) {
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
}
