package io.weightpub.bench;

import io.weightpub.job.JobOptions;
import io.weightpub.job.WeightPublishingJob;
import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.sink.SinkOptions;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.StoreBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The job, its workers serving engines (docs/engine-protocol.md), and a publisher, driven over
 * stdin by a script that runs the engine processes (python/bench/engine_gpu.py on the GPU host):
 *
 * <pre>java -cp 'lib/*' io.weightpub.bench.EngineServe --engine-socket /tmp/wp/worker-{worker}.sock
 *     [--backend cuda] [--workers 1] [--bootstrap HOST:PORT] [--slots 3] [--lease-timeout-s 30]</pre>
 *
 * Prints {@code READY} once every worker's store exists. Commands, one per line: {@code FILE model
 * step path} publishes a safetensors file or directory, {@code SYNTHETIC model step bytes} a
 * synthetic version of that size; each answers
 * {@code DONE ...} when the publish was acknowledged by Kafka (the script then waits for its
 * engines). {@code STOP} or end of input cancels the job and ends.
 */
public final class EngineServe {

    private EngineServe() {}

    public static void main(String[] argv) {
        try {
            serve(argv);
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    private static void serve(String[] argv) throws Exception {
        BenchArgs args = BenchArgs.parse(argv).allow(Stream.concat(Stream.of("engine-socket", "backend", "workers",
                "slots", "lease-timeout-s", "checkpoint-ms"), Stream.of(Broker.OPTIONS)).toArray(String[]::new));
        String socket = args.get("engine-socket").orElseThrow(() -> new IllegalArgumentException("--engine-socket"));
        int workers = args.intValue("workers", 1);
        StoreBackend backend = StoreBackend.valueOf(args.get("backend", "cuda").toUpperCase(Locale.ROOT));
        // The GPU bundle carries no Kafka test kit: a standalone broker unless --broker embedded.
        try (Broker broker = Broker.open(args)) {
            String prefix = "engine-" + UUID.randomUUID().toString().substring(0, 8);
            Topics.bundled().create(broker.bootstrap(), prefix);
            String sinkName = prefix + "-sink";
            Configuration conf = JobRunner.jobConf(broker.bootstrap(), prefix, sinkName, workers, 1, backend,
                    args.intValue("checkpoint-ms", 200));
            conf.set(JobOptions.STOP_AT_LATEST, false);
            conf.set(SinkOptions.ENGINE_SOCKET_PATH, socket);
            conf.set(SinkOptions.SLOTS_PER_MODEL, args.intValue("slots", 3));
            conf.set(SinkOptions.ENGINE_LEASE_TIMEOUT, Duration.ofSeconds(args.intValue("lease-timeout-s", 30)));
            conf.set(SinkOptions.LEASE_WAIT_TIMEOUT, Duration.ofSeconds(args.intValue("lease-timeout-s", 30) * 2L));
            Configuration cluster = new Configuration();
            cluster.setString("restart-strategy.type", "none");
            try (MiniCluster mini = new MiniCluster(new MiniClusterConfiguration.Builder().setConfiguration(cluster)
                    .setNumTaskManagers(1).setNumSlotsPerTaskManager(Math.max(workers, 1) + 1).withRandomPorts()
                    .build());
                    WeightPublisher publisher = WeightPublisher.builder().bootstrapServers(broker.bootstrap())
                            .topicPrefix(prefix).build()) {
                mini.start();
                StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
                env.setParallelism(1);
                WeightPublishingJob.build(env, conf);
                JobID id = mini.submitJob(env.getStreamGraph().getJobGraph()).get().getJobID();
                while (!storesExist(sinkName, workers)) {
                    if (mini.requestJobResult(id).isDone()) {
                        throw new IllegalStateException("the job ended before its workers started");
                    }
                    Thread.sleep(20);
                }
                say("READY bootstrap=" + broker.bootstrap() + " prefix=" + prefix);
                commands(publisher, broker.bootstrap(), prefix);
                mini.cancelJob(id).get(60, TimeUnit.SECONDS);
                WeightSink.release(sinkName);
            }
        }
    }

    private static void commands(WeightPublisher publisher, String bootstrap, String prefix) throws Exception {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null && !line.trim().equals("STOP"); ) {
                try {
                    command(line, publisher, bootstrap, prefix);
                } catch (Exception | LinkageError e) {
                    // The driving script waits for DONE or ERROR: a failed publish must not leave it waiting.
                    e.printStackTrace();
                    say("ERROR " + line + ": " + e);
                }
            }
        }
    }

    private static void command(String line, WeightPublisher publisher, String bootstrap, String prefix)
            throws Exception {
        String[] w = line.trim().split("\\s+");
        long start = System.nanoTime();
        switch (w[0]) {
            case "FILE" -> {
                PublishResult r = publisher.publish(w[1], Long.parseLong(w[2]), Path.of(w[3]));
                say("DONE FILE " + w[1] + " " + w[2] + " bytes=" + r.bytes() + " ms=" + ms(start));
            }
            case "SYNTHETIC" -> {
                PublishResult r = SyntheticModel.publish(bootstrap, prefix, w[1], Long.parseLong(w[2]),
                        Long.parseLong(w[3]));
                say("DONE SYNTHETIC " + w[1] + " " + w[2] + " bytes=" + r.bytes() + " ms=" + ms(start));
            }
            default -> say("ERROR unknown command " + line);
        }
    }

    private static long ms(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    private static boolean storesExist(String sinkName, int workers) {
        for (int w = 0; w < workers; w++) {
            if (WeightSink.store(sinkName, w).isEmpty()) {
                return false;
            }
        }
        return true;
    }
}
