package io.weightpub.bench;

import io.weightpub.schemas.TopicNames;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;

/**
 * Where the time goes per byte: the JMH hot loops of {@link StageBenchmarks} plus Kafka's raw fetch
 * (ConsumerPerformance on a fresh topic), each as nanoseconds per payload byte.
 */
public final class StageBench {

    static final String BENCH = "stages";
    private final Broker broker;
    private final boolean quick;
    private final int runs;

    public StageBench(Broker broker, boolean quick, int runs) {
        this.broker = broker;
        this.quick = quick;
        this.runs = runs;
    }

    public List<Measurement> run(long fetchBytes) throws Exception {
        List<Measurement> out = new ArrayList<>();
        for (RunResult r : jmh()) {
            String name = r.getParams().getBenchmark();
            String stage = name.substring(name.lastIndexOf('.') + 1);
            double nsPerOp = r.getPrimaryResult().getScore();
            double error = r.getPrimaryResult().getScoreError();
            out.add(new Measurement(BENCH, stage, -1, "ns_per_op", nsPerOp, "ns"));
            out.add(new Measurement(BENCH, stage, -1, "ns_per_op_error", Double.isNaN(error) ? 0 : error, "ns"));
            out.add(new Measurement(BENCH, stage, -1, "ns_per_byte", nsPerOp / StageBenchmarks.CHUNK, "ns/B"));
            out.add(new Measurement(BENCH, stage, -1, "gbps", StageBenchmarks.CHUNK / nsPerOp, "GB/s"));
            System.out.printf("stage %-11s %10.0f ns per 1 MiB chunk = %.3f ns/B (%.2f GB/s)%n", stage, nsPerOp,
                    nsPerOp / StageBenchmarks.CHUNK, StageBenchmarks.CHUNK / nsPerOp);
        }
        String prefix = "bench-stages-" + UUID.randomUUID().toString().substring(0, 8);
        Topics topics = Topics.bundled();
        topics.create(broker.bootstrap(), prefix);
        try {
            SyntheticModel.publish(broker.bootstrap(), prefix, "bench", 1, fetchBytes);
            String chunks = TopicNames.of(prefix).chunks();
            long records = Topics.records(broker.bootstrap(), chunks);
            for (int r = 0; r < runs; r++) {
                KafkaPerfTools.ConsumerRun c = KafkaPerfTools.consume(broker.bootstrap(), chunks, records,
                        prefix + "-fetch-" + r);
                double nsPerByte = 1e9 / c.bytesPerSecond();
                out.add(new Measurement(BENCH, "kafkaFetch", r, "ns_per_byte", nsPerByte, "ns/B"));
                out.add(new Measurement(BENCH, "kafkaFetch", r, "gbps", c.bytesPerSecond() / 1e9, "GB/s"));
                System.out.printf("stage kafkaFetch  run %d: %.3f ns/B (%.2f GB/s)%n", r + 1, nsPerByte,
                        c.bytesPerSecond() / 1e9);
            }
        } finally {
            Topics.delete(broker.bootstrap(), topics.names(prefix));
        }
        return out;
    }

    private Collection<RunResult> jmh() throws Exception {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(StageBenchmarks.class.getName() + "\\.")
                .jvmArgs("-Xmx2g", "-XX:+UseG1GC", "-Djava.awt.headless=true")
                .shouldFailOnError(true);
        if (quick) {
            options.forks(0).warmupIterations(1).warmupTime(TimeValue.milliseconds(200))
                    .measurementIterations(2).measurementTime(TimeValue.milliseconds(300));
        } else {
            options.forks(1).warmupIterations(2).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(3).measurementTime(TimeValue.seconds(1));
        }
        return new Runner(options.build()).run();
    }
}
