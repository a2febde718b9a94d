package io.weightpub.bench;

import io.weightpub.store.cuda.CudaAvailability;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The GPU benchmarks, for a GPU host without Maven or network, from the bundle of
 * {@code scripts/bench.sh gpu-prepare} (a jlink'ed runtime and the jars the benchmark loads):
 *
 * <pre>/opt/w/jre/bin/java -cp '/opt/w/lib/*' io.weightpub.bench.GpuBench OUT [--sizes 4g,16g]
 *     [--parallelism 1,4,8,16] [--runs 3] [--latency-workers 1,2,4] [--latency-sizes 4g] [--consumers N]
 *     [--budget-s 540] [--skip-staging] [--skip-curve] [--stages source,checker,network,job-host|none]
 *     [--host-stores] [--broker standalone|embedded] [--broker-heap 2g] [--broker-dir DIR] [--bootstrap HOST:PORT]
 *     [--version-mib 2048] [--rounds 3] [--flips 200] [--readers 4]</pre>
 *
 * <ol>
 *   <li>unless {@code --skip-staging}: the sink's {@link CudaStagingBenchmark} (pinned host → device
 *       bandwidth, the CUDA store's staging throughput against it, flip latency under readers);</li>
 *   <li>{@link EndToEndBench} as bench {@code e2e-gpu}: the job's parallelism curve with one CUDA worker
 *       against one and N {@code ConsumerPerformance} processes and, at each parallelism, the job cut
 *       after each stage ({@code --stages}: source, checkers, network to one worker, the whole job
 *       with host stores), then the time from the trainer's last record to active at 1, 2 and 4
 *       workers (sharing the GPU), from a standalone broker this benchmark starts in a child JVM
 *       (data under {@code --broker-dir}, default the temp folder; {@code --broker embedded}: Kafka's
 *       test kit in this JVM) unless {@code --bootstrap} names one.</li>
 * </ol>
 * {@code --host-stores} runs the end-to-end part with host stores and needs no GPU (to test the bundle
 * anywhere). {@code --budget-s} skips the points that would start after that many seconds and says
 * so in the report. Writes the raw CSVs, {@code summary.csv}, {@code report.md} and PNGs to OUT.
 */
public final class GpuBench {

    static final String USAGE = "usage: GpuBench OUT [--sizes 4g,16g] [--parallelism 1,4,8,16] [--runs 3] "
            + "[--latency-workers 1,2,4] [--latency-sizes 4g] [--consumers N] [--budget-s S] [--skip-staging] "
            + "[--skip-curve] [--stages source,checker,network,job-host|none] "
            + "[--host-stores] [--broker standalone|embedded] [--broker-heap 2g] [--broker-dir DIR] "
            + "[--bootstrap HOST:PORT] [--version-mib 2048] [--rounds 3] [--flips 200] [--readers 4]";

    private GpuBench() {}

    public static void main(String[] argv) throws Exception {
        BenchArgs args = BenchArgs.parse(argv).allow(java.util.stream.Stream.concat(java.util.stream.Stream.of(
                "version-mib", "rounds", "flips", "readers", "sizes", "runs", "bootstrap", "skip-e2e",
                "skip-staging", "skip-curve", "host-stores", "budget-s", "checkpoint-ms"),
                java.util.stream.Stream.concat(java.util.stream.Stream.of(EndToEndBench.Plan.OPTIONS),
                        java.util.stream.Stream.of(Broker.OPTIONS))).distinct().toArray(String[]::new));
        if (args.positional().size() != 1) {
            System.err.println(USAGE);
            System.exit(2);
        }
        Path out = Path.of(args.positional().get(0));
        boolean hostStores = args.flag("host-stores");
        if (!hostStores && !CudaAvailability.isAvailable()) {
            System.err.println("no CUDA device visible: " + CudaAvailability.unavailableReason()
                    + " (--host-stores runs the end-to-end part with host stores)");
            System.exit(3);
        }
        TimeBudget budget = TimeBudget.seconds(args.intValue("budget-s", 0));
        Files.createDirectories(out);
        if (!hostStores && !args.flag("skip-staging")) {
            Path staging = out.resolve("cuda-staging");
            CudaStagingBenchmark.main(new String[] {staging.toString(), args.get("version-mib", "2048"),
                    args.get("rounds", "3"), args.get("flips", "200"), args.get("readers", "4")});
            List<Measurement> gpu = fromStagingCsv(Files.readAllLines(staging.resolve("cuda-staging.csv")));
            Map<String, String> env = Environment.describe("no broker (GPU staging only)");
            Files.readAllLines(staging.resolve("cuda-staging.csv")).stream()
                    .filter(l -> l.startsWith("device,")).findFirst()
                    .ifPresent(l -> env.put("gpu", l.substring("device,".length()).replaceAll(",$", "")));
            Results.write(out, "gpu", gpu);
            Results.writeEnvironment(out, "gpu", env);
        }

        if (!args.flag("skip-e2e")) {
            try (Broker broker = Broker.open(args)) {
                String bench = "e2e-gpu";
                System.out.println("broker: " + broker.mode());
                EndToEndBench.Plan plan = EndToEndBench.Plan.from(args, bench, hostStores ? "host" : "cuda",
                        args.intValue("runs", 3), hostStores ? memoryBudget() : Long.MAX_VALUE,
                        args.intValue("checkpoint-ms", 200), List.of(1, 4, 8, 16), List.of(4L << 30));
                List<Measurement> e2e = new EndToEndBench(broker, plan, budget)
                        .run(args.flag("skip-curve") ? List.of() : args.sizes("sizes", List.of(4L << 30, 16L << 30)));
                Results.write(out, bench, e2e);
                Map<String, String> env = Environment.describe(broker.mode());
                env.put("stores", hostStores ? "host (--host-stores)" : "CUDA");
                env.put("budget_s", args.get("budget-s", "none"));
                Results.writeEnvironment(out, bench, env);
            }
        }
        Report.write(out);
        System.out.println("wrote " + out + " (report.md, summary.csv, PNGs); copy summary.csv, report.md, the PNGs "
                + "and the raw CSVs into results/gpu of the checkout");
        System.exit(0);
    }

    private static long memoryBudget() {
        return Environment.memoryAvailable() > 0 ? Environment.memoryAvailable() : Runtime.getRuntime().maxMemory();
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
