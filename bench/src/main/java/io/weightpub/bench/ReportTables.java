package io.weightpub.bench;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** The per-benchmark tables of the report. */
final class ReportTables {

    private ReportTables() {}

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
            if (Report.skipped(r, bench, c)) {
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
            if (Report.skipped(r, bench, c) || r.values(bench, c, "job_stream_ms").isEmpty()) {
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
}
