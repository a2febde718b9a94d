package io.weightpub.bench;

import io.weightpub.sink.CudaAvailability;
import io.weightpub.sink.internal.CudaStagingBenchmark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The GPU benchmarks, for a GPU host that has a Java runtime and the jars of
 * {@code scripts/bench.sh gpu-prepare} but no Maven:
 *
 * <pre>java -cp 'DIR/lib/*' io.weightpub.bench.GpuBench OUT [--version-mib 2048] [--rounds 3] [--flips 200]
 *     [--readers 4] [--sizes 4g] [--workers 1] [--runs 3] [--bootstrap HOST:PORT] [--skip-e2e]</pre>
 *
 * <ol>
 *   <li>the sink's {@link CudaStagingBenchmark}: pinned host → device bandwidth measured by the
 *       benchmark itself, the CUDA store's staging throughput against it (1, 4, 8 copy threads),
 *       flip latency p50/p99/max while readers hold leases and read;</li>
 *   <li>end to end with CUDA stores: the same comparison as {@code scripts/bench.sh e2e} (job vs
 *       ConsumerPerformance and the Flink floor), from a broker on that host (in this JVM unless
 *       {@code --bootstrap} names one).</li>
 * </ol>
 * Writes {@code gpu.csv}, {@code e2e-cuda.csv} and their environments to OUT (copy them into
 * results/latest and run {@code scripts/bench.sh report}), plus the sink benchmark's own files under
 * {@code OUT/cuda-staging}.
 */
public final class GpuBench {

    private GpuBench() {}

    public static void main(String[] argv) throws Exception {
        BenchArgs args = BenchArgs.parse(argv).allow("version-mib", "rounds", "flips", "readers", "sizes", "workers",
                "runs", "bootstrap", "skip-e2e", "checkpoint-ms");
        if (args.positional().size() != 1) {
            System.err.println("usage: GpuBench OUT [--version-mib 2048] [--rounds 3] [--flips 200] [--readers 4] "
                    + "[--sizes 4g] [--workers 1] [--runs 3] [--bootstrap HOST:PORT] [--skip-e2e]");
            System.exit(2);
        }
        Path out = Path.of(args.positional().get(0));
        if (!CudaAvailability.isAvailable()) {
            System.err.println("no CUDA device visible: " + CudaAvailability.unavailableReason());
            System.exit(3);
        }
        Files.createDirectories(out);
        Path staging = out.resolve("cuda-staging");
        CudaStagingBenchmark.main(new String[] {staging.toString(), args.get("version-mib", "2048"),
                args.get("rounds", "3"), args.get("flips", "200"), args.get("readers", "4")});
        List<Measurement> gpu = fromStagingCsv(Files.readAllLines(staging.resolve("cuda-staging.csv")));
        Map<String, String> env = Environment.describe(args.get("bootstrap").map(b -> "external broker at " + b)
                .orElse("in-process KRaft broker (Kafka test kit) in the benchmark JVM"));
        Files.readAllLines(staging.resolve("cuda-staging.csv")).stream()
                .filter(l -> l.startsWith("device,")).findFirst()
                .ifPresent(l -> env.put("gpu", l.substring("device,".length()).replaceAll(",$", "")));
        Results.write(out, "gpu", gpu);
        Results.writeEnvironment(out, "gpu", env);

        if (!args.flag("skip-e2e")) {
            try (Broker broker = args.get("bootstrap").map(b -> Broker.external(b, "external broker at " + b))
                    .orElseGet(Broker::embedded)) {
                List<Measurement> e2e = new EndToEndBench(broker, "e2e-cuda", "cuda", args.intValue("runs", 3),
                        Long.MAX_VALUE, args.intValue("checkpoint-ms", 200))
                        .run(args.sizes("sizes", List.of(4L << 30)), args.ints("workers", List.of(1)));
                Results.write(out, "e2e-cuda", e2e);
                Results.writeEnvironment(out, "e2e-cuda", Environment.describe(broker.mode()));
            }
        }
        Results results = Results.read(out);
        System.out.print(Report.consoleSummary(results, "gpu"));
        if (results.has("e2e-cuda")) {
            System.out.print(Report.consoleSummary(results, "e2e-cuda"));
        }
        System.out.println("wrote " + out + "; copy its *.csv into results/latest and run scripts/bench.sh report");
        System.exit(0);
    }

    /**
     * Turns the sink benchmark's {@code metric,value,unit} rows into measurements: bandwidths and
     * staging ratios under case {@code staging}, flip latencies and reader counts under {@code flip}.
     */
    static List<Measurement> fromStagingCsv(List<String> lines) {
        List<Measurement> out = new ArrayList<>();
        for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
            String[] f = line.split(",");
            if (f.length < 2 || f[0].equals("device")) {
                continue;
            }
            double value;
            try {
                value = Double.parseDouble(f[1]);
            } catch (NumberFormatException e) {
                continue;
            }
            String unit = f.length > 2 ? f[2] : "";
            String c = f[0].startsWith("flip") || f[0].startsWith("reader") ? "flip" : "staging";
            out.add(new Measurement("gpu", c, -1, f[0], value, unit));
        }
        return out;
    }
}
