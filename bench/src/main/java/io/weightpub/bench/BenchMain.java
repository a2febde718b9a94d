package io.weightpub.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The benchmarks' entry point, one command per benchmark (scripts/bench.sh wraps it):
 *
 * <pre>
 * BenchMain e2e       [--sizes 1g,4g] [--parallelism 1,2,4,8,16] [--runs 3] [--consumers N]
 *                     [--latency-workers 1,2,4] [--latency-sizes 1g] [--broker-pid PID] [--budget-s S]
 *                                                                     job vs one and N ConsumerPerformance processes
 * BenchMain stages    [--fetch-size 1g] [--runs 3]                    per-byte cost of each stage (JMH + raw fetch)
 * BenchMain memory    [--sizes 256m,1g,4g] [--runs 2]                 job heap and checkpointed state vs model size
 * BenchMain publisher [--sizes 1g] [--runs 3]                         publisher vs ProducerPerformance
 * BenchMain publish-parallel [--sizes 512m] [--producers 1,2,4,8] [--runs 1]  N producers vs N ProducerPerformance processes
 * BenchMain report                                                    report.md, summary.csv and plots from the CSVs
 * common: --out DIR (default results/latest), --bootstrap HOST:PORT (else --broker standalone, a broker
 *         process this benchmark starts, or embedded, one in this JVM),
 *         --broker-desc TEXT, --quick (seconds-long smoke run), --mem-budget SIZE, --checkpoint-ms N
 * </pre>
 */
public final class BenchMain {

    private static final String[] OPTIONS = java.util.stream.Stream.concat(java.util.stream.Stream.of("out",
            "bootstrap", "broker-desc", "quick", "runs", "sizes", "workers", "mem-budget", "checkpoint-ms",
            "fetch-size", "backend", "budget-s", "producers"), java.util.stream.Stream.concat(
                    java.util.stream.Stream.of(EndToEndBench.Plan.OPTIONS), java.util.stream.Stream.of(Broker.OPTIONS)))
            .distinct().toArray(String[]::new);

    private BenchMain() {}

    public static void main(String[] argv) throws Exception {
        BenchArgs args = BenchArgs.parse(argv).allow(OPTIONS);
        if (args.positional().isEmpty()) {
            usage();
            System.exit(2);
        }
        String command = args.positional().get(0);
        Path out = args.path("out", Path.of("results", "latest"));
        if (command.equals("report")) {
            Report.write(out);
            return;
        }
        boolean quick = args.flag("quick");
        long budget = args.bytes("mem-budget", Environment.memoryAvailable() > 0 ? Environment.memoryAvailable()
                : Runtime.getRuntime().maxMemory());
        int checkpointMs = args.intValue("checkpoint-ms", 200);
        try (Broker broker = Broker.open(args)) {
            Map<String, String> env = Environment.describe(broker.mode());
            env.put("quick", String.valueOf(quick));
            env.put("memory_budget", Table.size(budget));
            List<Measurement> measured;
            String bench;
            switch (command) {
                case "e2e" -> {
                    bench = "e2e";
                    String backend = args.get("backend", "host");
                    if (!backend.equals("host")) {
                        bench = "e2e-" + backend;
                    }
                    EndToEndBench.Plan plan = EndToEndBench.Plan.from(args, bench, backend,
                            args.intValue("runs", quick ? 1 : 3), budget, checkpointMs,
                            quick ? List.of(1, 2) : List.of(1, 2, 4, 8, 16),
                            List.of(quick ? 64L << 20 : 1L << 30));
                    measured = new EndToEndBench(broker, plan, TimeBudget.seconds(args.intValue("budget-s", 0)))
                            .run(args.sizes("sizes", quick ? List.of(64L << 20) : List.of(1L << 30, 4L << 30)));
                }
                case "stages" -> {
                    bench = StageBench.BENCH;
                    measured = new StageBench(broker, quick, args.intValue("runs", quick ? 1 : 3))
                            .run(args.bytes("fetch-size", quick ? 64L << 20 : 1L << 30));
                }
                case "memory" -> {
                    bench = MemoryBench.BENCH;
                    measured = new MemoryBench(broker, args.intValue("runs", quick ? 1 : 2), budget, checkpointMs)
                            .run(args.sizes("sizes", quick ? List.of(32L << 20, 128L << 20)
                                    : List.of(256L << 20, 1L << 30, 4L << 30)));
                }
                case "publisher" -> {
                    bench = PublisherBench.BENCH;
                    measured = new PublisherBench(broker, args.intValue("runs", quick ? 1 : 3))
                            .run(args.sizes("sizes", quick ? List.of(64L << 20) : List.of(1L << 30)));
                }
                case "publish-parallel" -> {
                    bench = ParallelPublishBench.BENCH;
                    measured = new ParallelPublishBench(broker, args.intValue("runs", 1)).run(
                            args.sizes("sizes", List.of(quick ? 64L << 20 : 512L << 20)).get(0),
                            args.ints("producers", List.of(1, 2, 4, 8)), out);
                }
                case "rollback" -> {
                    bench = RollbackBench.BENCH;
                    measured = new RollbackBench(quick, args.intValue("runs", quick ? 1 : 3)).run();
                }
                default -> {
                    usage();
                    System.exit(2);
                    return;
                }
            }
            env.put("load_average_at_end", String.format(java.util.Locale.ROOT, "%.2f", Environment.loadAverage()));
            Results.write(out, bench, measured);
            Results.writeEnvironment(out, bench, env);
            System.out.println();
            System.out.print(Report.consoleSummary(Results.read(out), bench));
            System.out.println("wrote " + out.resolve(bench + ".csv"));
        }
        System.exit(0);
    }

    private static void usage() {
        System.err.println("usage: BenchMain e2e|stages|memory|publisher|publish-parallel|rollback|report [--out DIR] [--bootstrap HOST:PORT]"
                + " [--quick] [--runs N] [--sizes 1g,4g] [--workers 1,3] [--mem-budget SIZE] [--checkpoint-ms N]"
                + " [--fetch-size SIZE] [--backend host|cuda] [--producers 1,2,4,8]");
    }
}
