package io.weightpub.bench;

import io.weightpub.job.JobOptions;
import io.weightpub.job.WeightPublishingJob;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.VersionInfo;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs the job unbounded on a MiniCluster in this (fresh) JVM for a latency measurement: prints
 * {@code READY} once every worker's store exists, then {@code ACTIVE version=V at_ms=T} (T: this
 * host's epoch milliseconds) each time the version that every worker serves rises. A publisher in
 * another process compares T with the moment its publish was acknowledged. Ends on {@code STOP} (or
 * end of input) on stdin, cancelling the job.
 */
public final class JobServer {

    static final String READY = "READY";
    static final String ACTIVE = "ACTIVE ";

    private JobServer() {}

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
        BenchArgs args = BenchArgs.parse(argv).allow("bootstrap", "prefix", "workers", "parallelism", "backend",
                "model", "checkpoint-ms");
        String bootstrap = args.get("bootstrap").orElseThrow(() -> new IllegalArgumentException("--bootstrap"));
        String prefix = args.get("prefix").orElseThrow(() -> new IllegalArgumentException("--prefix"));
        int workers = args.intValue("workers", 1);
        int parallelism = args.intValue("parallelism", 1);
        String model = args.get("model", "bench");
        StoreBackend backend = StoreBackend.valueOf(args.get("backend", "host").toUpperCase(Locale.ROOT));
        String sinkName = prefix + "-serve-" + UUID.randomUUID();
        Configuration conf = JobRunner.jobConf(bootstrap, prefix, sinkName, workers, parallelism, backend,
                args.intValue("checkpoint-ms", 200));
        conf.set(JobOptions.STOP_AT_LATEST, false);

        AtomicBoolean stop = new AtomicBoolean();
        Thread input = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null && !line.trim().equals("STOP")) {
                    // only STOP means anything
                }
            } catch (Exception e) {
                // stdin gone: stop as well
            }
            stop.set(true);
        }, "stdin");
        input.setDaemon(true);
        input.start();

        Configuration cluster = new Configuration();
        cluster.setString("restart-strategy.type", "none");
        try (MiniCluster mini = new MiniCluster(new MiniClusterConfiguration.Builder().setConfiguration(cluster)
                .setNumTaskManagers(1).setNumSlotsPerTaskManager(Math.max(workers, parallelism)).withRandomPorts()
                .build())) {
            mini.start();
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            env.setParallelism(1);
            WeightPublishingJob.build(env, conf);
            JobID id = mini.submitJob(env.getStreamGraph().getJobGraph()).get().getJobID();
            CompletableFuture<JobResult> finished = mini.requestJobResult(id);
            boolean ready = false;
            long serving = -1;
            while (!stop.get()) {
                if (finished.isDone()) {
                    JobRunner.checkSucceeded(finished.get());
                    throw new IllegalStateException("the job ended while serving");
                }
                if (!ready && storesExist(sinkName, workers)) {
                    ready = true;
                    System.out.println(READY);
                    System.out.flush();
                }
                long v = ready ? servedByAll(sinkName, workers, model) : -1;
                if (v > serving) {
                    serving = v;
                    System.out.println(ACTIVE + "version=" + v + " at_ms=" + System.currentTimeMillis());
                    System.out.flush();
                }
                LockSupport.parkNanos(1_000_000);
            }
            mini.cancelJob(id).get(60, TimeUnit.SECONDS);
            WeightSink.release(sinkName);
        }
    }

    private static boolean storesExist(String sinkName, int workers) {
        for (int w = 0; w < workers; w++) {
            if (WeightSink.store(sinkName, w).isEmpty()) {
                return false;
            }
        }
        return true;
    }

    /** The lowest active version across the workers (-1 while any serves none). */
    private static long servedByAll(String sinkName, int workers, String model) {
        long min = Long.MAX_VALUE;
        for (int w = 0; w < workers; w++) {
            long v = WorkerProbe.status(sinkName, w, model).flatMap(s -> s.active()).map(VersionInfo::version)
                    .orElse(-1L);
            min = Math.min(min, v);
        }
        return min;
    }

    /** Parses {@code version=V at_ms=T} of an ACTIVE line: {V, T}. */
    static long[] parseActive(String rest) {
        var map = JobRunner.parseResult(rest);
        return new long[] {Long.parseLong(map.get("version")), Long.parseLong(map.get("at_ms"))};
    }
}
