package io.weightpub.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-byte cost of the data path built from the stage benchmarks: what one byte costs from Kafka to
 * N workers' host stores, if the stages ran one after another on one core.
 *
 * <p>{@code fetch + assembler + (N > 1 ? N x serde : 0) + N x (copy + first touch + digest)}, where the
 * assembler includes its chunk parse and CRC32C, and first touch is what copying into fresh slot
 * memory costs beyond the copy: a worker's first two versions pay it (the end-to-end benchmark times a
 * first version), later ones reuse the slots. With one worker the job chains source, assembler and sink,
 * so chunks never cross Flink's network stack; with more, every chunk is broadcast (serialized once,
 * deserialized by each worker: N round trips is an upper bound).
 */
public final class CostModel {

    /** Stage keys as the stage benchmark names them, in data-path order. */
    public static final List<String> STAGES = List.of("kafkaFetch", "chunkParse", "crc32c", "assembler",
            "eventSerde", "slotCopy", "slotFirstTouch", "sha256");
    /** Measured for reference, not part of the data path any more. */
    public static final List<String> REFERENCE = List.of("avroDecode");

    static final Map<String, String> LABELS = Map.ofEntries(
            Map.entry("slotFirstTouch", "sink copy into fresh slot memory (per worker)"),
            Map.entry("firstTouch", "first touch of fresh slot memory (per worker, first two versions)"),
            Map.entry("kafkaFetch", "Kafka fetch (raw consumer)"),
            Map.entry("chunkParse", "chunk parse (ChunkView, in place)"),
            Map.entry("avroDecode", "Avro decode with payload copy (reference)"),
            Map.entry("crc32c", "CRC32C"),
            Map.entry("assembler", "assembler (parse + CRC32C + bookkeeping)"),
            Map.entry("assemblerRest", "assembler bookkeeping"),
            Map.entry("eventSerde", "network serde (per worker)"),
            Map.entry("slotCopy", "sink copy into slot (per worker)"),
            Map.entry("sha256", "SHA-256 digest (per worker)"));

    private final Map<String, Double> nsPerByte;

    public CostModel(Map<String, Double> nsPerByte) {
        this.nsPerByte = Map.copyOf(nsPerByte);
    }

    public static CostModel from(Results results) {
        Map<String, Double> ns = new LinkedHashMap<>();
        for (String stage : java.util.stream.Stream.concat(STAGES.stream(), REFERENCE.stream()).toList()) {
            double v = results.median(StageBench.BENCH, stage, "ns_per_byte");
            if (!Double.isNaN(v)) {
                ns.put(stage, v);
            }
        }
        return new CostModel(ns);
    }

    public boolean complete() {
        return nsPerByte.keySet().containsAll(STAGES);
    }

    public double stage(String name) {
        return nsPerByte.getOrDefault(name, Double.NaN);
    }

    /** The assembler's own work beyond parsing and CRC32C (never below zero). */
    public double assemblerRest() {
        return Math.max(0, stage("assembler") - stage("chunkParse") - stage("crc32c"));
    }

    /**
     * The stacked parts for N workers, in data-path order: fetch, parse, CRC32C, assembler rest,
     * serde, copy, digest (ns per byte of the model).
     */
    public Map<String, Double> parts(int workers) {
        Map<String, Double> parts = new LinkedHashMap<>();
        parts.put("kafkaFetch", stage("kafkaFetch"));
        parts.put("chunkParse", stage("chunkParse"));
        parts.put("crc32c", stage("crc32c"));
        parts.put("assemblerRest", assemblerRest());
        parts.put("eventSerde", workers > 1 ? workers * stage("eventSerde") : 0.0);
        parts.put("slotCopy", workers * stage("slotCopy"));
        double touch = stage("slotFirstTouch");
        // Results from before the first-touch stage existed model without it.
        parts.put("firstTouch", Double.isNaN(touch) ? 0.0 : workers * Math.max(0, touch - stage("slotCopy")));
        parts.put("sha256", workers * stage("sha256"));
        return parts;
    }

    /** Total modelled ns per byte for N workers. */
    public double total(int workers) {
        return parts(workers).values().stream().mapToDouble(Double::doubleValue).sum();
    }

    /** Modelled work beyond the raw fetch, for N workers. */
    public double beyondFetch(int workers) {
        return total(workers) - stage("kafkaFetch");
    }

    /** The stage of the extra work (beyond the fetch) that costs most for N workers. */
    public String largestExtra(int workers) {
        String best = null;
        double max = -1;
        for (Map.Entry<String, Double> e : parts(workers).entrySet()) {
            if (!e.getKey().equals("kafkaFetch") && e.getValue() > max) {
                max = e.getValue();
                best = e.getKey();
            }
        }
        return best;
    }

    public static String label(String stage) {
        return LABELS.getOrDefault(stage, stage);
    }

    /** ns per byte of a throughput in MB/s (10^6 bytes per second). */
    public static double nsPerByte(double megabytesPerSecond) {
        return 1000.0 / megabytesPerSecond;
    }
}
