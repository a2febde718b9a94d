package io.weightpub.job.testutils;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.JobOptions;
import io.weightpub.job.WeightPublishingJob;
import io.weightpub.sink.SinkOptions;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.ActiveVersion;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * The weight publishing job running on the test's MiniCluster against the test's Kafka, with host
 * weight stores; stopped and its stores freed on close.
 */
public final class RunningJob implements AutoCloseable {

    /** How long {@link #await} waits: generous, since a slow CI machine may run this next to other builds. */
    private static final long AWAIT_SECONDS = Long.getLong("weightpub.test.await.seconds", 180);

    private final JobClient client;
    private final String sinkName;
    private final int workers;

    private RunningJob(JobClient client, String sinkName, int workers) {
        this.client = client;
        this.sinkName = sinkName;
        this.workers = workers;
    }

    /** Settings for a test run: fast checkpoints, host stores, no worker HTTP. */
    public static Configuration testConfiguration(String bootstrapServers, String prefix, int workers) {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BOOTSTRAP_SERVERS, bootstrapServers);
        conf.set(JobOptions.TOPIC_PREFIX, prefix);
        conf.set(JobOptions.GROUP_ID, prefix + "-job");
        conf.set(JobOptions.WORKERS, workers);
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        conf.set(SinkOptions.NAME, prefix + "-sink");
        conf.set(SinkOptions.BACKEND, StoreBackend.HOST);
        conf.set(SinkOptions.WORKER_HTTP, false);
        return conf;
    }

    public static RunningJob start(Configuration conf) throws Exception {
        return start(conf, UnaryOperator.identity());
    }

    /** Starts the job with {@code beforeSink} spliced between the assembler and the sink. */
    public static RunningJob start(Configuration conf, UnaryOperator<DataStream<WeightEvent>> beforeSink)
            throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.configure(Configuration.fromMap(Map.of(
                "restart-strategy.type", "fixed-delay",
                "restart-strategy.fixed-delay.attempts", "5",
                "restart-strategy.fixed-delay.delay", "200 ms")));
        DataStream<WeightEvent> events = WeightPublishingJob.assemble(env, conf);
        WeightPublishingJob.sinkToWorkers(beforeSink.apply(events), conf);
        return new RunningJob(env.executeAsync("weightpub-test"), conf.get(SinkOptions.NAME), conf.get(JobOptions.WORKERS));
    }

    public JobClient client() {
        return client;
    }

    public int workers() {
        return workers;
    }

    public Optional<WeightStore> store(int worker) {
        return WeightSink.store(sinkName, worker);
    }

    /** The version worker {@code worker} serves for {@code model}, or -1. */
    public long activeVersion(int worker, String model) {
        Optional<WeightStore> store = store(worker);
        if (store.isEmpty()) {
            return -1;
        }
        try (ActiveVersion lease = store.get().acquire(model).orElse(null)) {
            return lease == null ? -1 : lease.info().version();
        }
    }

    /** The whole active version of {@code model} on a worker, read under one lease. */
    public byte[] activeBytes(int worker, String model) {
        try (ActiveVersion lease = store(worker).orElseThrow().acquire(model).orElseThrow()) {
            byte[] bytes = new byte[Math.toIntExact(lease.info().sizeBytes())];
            lease.read(0, bytes, 0, bytes.length);
            return bytes;
        }
    }

    public ActiveVersion lease(int worker, String model) {
        return store(worker).orElseThrow().acquire(model).orElseThrow();
    }

    /** Waits until every worker serves at least {@code version} of {@code model}. */
    public void awaitVersionOnAllWorkers(String model, long version) throws InterruptedException {
        await("every worker serves version " + version + " of " + model, () -> {
            for (int worker = 0; worker < workers; worker++) {
                if (activeVersion(worker, model) < version) {
                    return false;
                }
            }
            return true;
        });
    }

    /** A MiniCluster of one TaskManager with {@code slots} slots, for the job's ITCases to register. */
    public static MiniClusterExtension miniCluster(int slots) {
        return new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                .setNumberTaskManagers(1)
                .setNumberSlotsPerTaskManager(slots)
                .build());
    }

    /** Polls {@code condition} until it holds; fails after {@code weightpub.test.await.seconds} (180 s). */
    public static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(AWAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + AWAIT_SECONDS + " s waiting until " + what);
            }
            Thread.sleep(50);
        }
    }

    @Override
    public void close() throws Exception {
        try {
            client.cancel().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            // A job that already failed cannot be cancelled; its stores are freed below all the same.
        } finally {
            WeightSink.release(sinkName);
        }
    }
}
