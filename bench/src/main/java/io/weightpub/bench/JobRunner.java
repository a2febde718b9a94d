package io.weightpub.bench;

import io.weightpub.job.JobOptions;
import io.weightpub.job.WeightPublishingJob;
import io.weightpub.schemas.TopicNames;
import io.weightpub.sink.SinkOptions;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.WeightStore;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.runtime.checkpoint.CheckpointStatsSnapshot;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs one Flink job on a MiniCluster in this (fresh) JVM and prints one {@code RESULT key=value ...}
 * line. Jobs over the same topics:
 * <ul>
 *   <li>{@code source}, {@code checker}, {@code network}: the job cut after that stage ({@link StageJob});</li>
 *   <li>{@code floor}: a bounded KafkaSource of the chunks topic into a DiscardingSink, the least a
 *       Flink job reading those records can cost;</li>
 *   <li>{@code job}: {@link WeightPublishingJob} with {@code source.stop-at-latest}, N workers and
 *       the given store backend, timed until every worker serves the expected version.</li>
 * </ul>
 * Times: {@code wall_ms} from submission, {@code dataplane_ms} from the first record (floor) or the
 * first staged chunk (job) to the last record (floor) or the last worker's commit (job); the job's data
 * plane is split into staging, verification and the wait for the committing checkpoint (the slowest
 * worker's, from the workers' status records). The heap is
 * sampled throughout; the checkpoint statistics come from the MiniCluster's execution graph.
 */
public final class JobRunner {

    static final String RESULT = "RESULT ";
    /**
     * Extra MiniCluster settings, {@code key=value;key=value} (e.g. network buffer sizes), so a run can
     * compare TaskManager settings without a rebuild.
     */
    static final String FLINK_SETTINGS_ENV = "WEIGHTPUB_BENCH_FLINK_SETTINGS";
    /** The job option that sets how many source readers and chunk checkers run (JobOptions.PARALLELISM). */
    static final String PARALLELISM_KEY = "parallelism";
    /** Modes that run the job cut after a stage ({@link StageJob}). */
    static final java.util.List<String> STAGES = java.util.List.of("source", "checker", "network");

    private JobRunner() {}

    public static void main(String[] argv) {
        try {
            run(argv);
        } catch (Throwable t) {
            // Flink's non-daemon threads would keep a failed runner alive, and its parent waiting
            t.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] argv) throws Exception {
        BenchArgs args = BenchArgs.parse(argv).allow("mode", "bootstrap", "prefix", "workers", "backend", "model",
                "version", "checkpoint-ms", "timeout-s", "parallelism", "broker-pid");
        String mode = args.get("mode", "job");
        String bootstrap = args.get("bootstrap").orElseThrow(() -> new IllegalArgumentException("--bootstrap"));
        String prefix = args.get("prefix").orElseThrow(() -> new IllegalArgumentException("--prefix"));
        int workers = args.intValue("workers", 1);
        int parallelism = args.intValue("parallelism", 1);
        long brokerPid = args.intValue("broker-pid", -1);
        long checkpointMs = args.intValue("checkpoint-ms", 200);
        long timeoutNanos = TimeUnit.SECONDS.toNanos(args.intValue("timeout-s", 600));

        Map<String, String> result = new LinkedHashMap<>();
        result.put("mode", mode);
        try (HeapSampler heap = HeapSampler.start()) {
            Configuration cluster = new Configuration();
            cluster.setString("restart-strategy.type", "none");
            flinkSettings(System.getenv(FLINK_SETTINGS_ENV)).forEach(cluster::setString);
            MiniClusterConfiguration mcc = new MiniClusterConfiguration.Builder()
                    .setConfiguration(cluster)
                    .setNumTaskManagers(1)
                    .setNumSlotsPerTaskManager(Math.max(1, Math.max(workers, parallelism)))
                    .withRandomPorts()
                    .build();
            try (MiniCluster mini = new MiniCluster(mcc)) {
                mini.start();
                if (mode.equals("floor")) {
                    runFloor(mini, bootstrap, prefix, checkpointMs, timeoutNanos, result);
                } else if (mode.equals("job")) {
                    String model = args.get("model", "bench");
                    long version = args.intValue("version", 1);
                    StoreBackend backend = StoreBackend.valueOf(args.get("backend", "host").toUpperCase(Locale.ROOT));
                    runJob(mini, bootstrap, prefix, workers, parallelism, brokerPid, backend, model, version,
                            checkpointMs, timeoutNanos, result);
                } else if (STAGES.contains(mode)) {
                    Configuration conf = jobConf(bootstrap, prefix, prefix + "-stage", workers, parallelism,
                            StoreBackend.HOST, checkpointMs);
                    StageJob.run(mini, conf, StageJob.Stage.of(mode), parallelism, checkpointMs, brokerPid,
                            timeoutNanos, result);
                } else {
                    throw new IllegalArgumentException("--mode " + mode + ": expected floor, job or one of " + STAGES);
                }
            }
            result.put("heap_max_used", String.valueOf(heap.maxUsed()));
            result.put("heap_live_max", String.valueOf(heap.maxLiveAfterGc()));
            result.put("gc_count", String.valueOf(heap.collections()));
        }
        StringBuilder line = new StringBuilder(RESULT);
        result.forEach((k, v) -> line.append(k).append('=').append(v).append(' '));
        System.out.println(line.toString().trim());
        System.out.flush();
        System.exit(0);
    }

    // ------------------------------------------------------------------ floor

    /** Counts what the floor job's source hands on; static because source and runner share this JVM. */
    static final class FloorProbe {
        static final AtomicLong FIRST = new AtomicLong(-1);
        static final AtomicLong LAST = new AtomicLong(-1);
        static final AtomicLong BYTES = new AtomicLong();
        static final AtomicLong RECORDS = new AtomicLong();
    }

    /** Hands each record's value on untouched, noting when records arrive. */
    static final class FloorDeserializer implements KafkaRecordDeserializationSchema<byte[]> {
        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<byte[]> out) {
            long now = System.nanoTime();
            FloorProbe.FIRST.compareAndSet(-1, now);
            FloorProbe.LAST.set(now);
            FloorProbe.BYTES.addAndGet(record.value() == null ? 0 : record.value().length);
            FloorProbe.RECORDS.incrementAndGet();
            out.collect(record.value());
        }

        @Override
        public TypeInformation<byte[]> getProducedType() {
            return PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;
        }
    }

    private static void runFloor(MiniCluster mini, String bootstrap, String prefix, long checkpointMs,
            long timeoutNanos, Map<String, String> result) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        env.enableCheckpointing(checkpointMs);
        KafkaSource<byte[]> source = KafkaSource.<byte[]>builder()
                .setBootstrapServers(bootstrap)
                .setTopics(TopicNames.of(prefix).chunks())
                .setGroupId(prefix + "-floor-" + UUID.randomUUID())
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setBounded(OffsetsInitializer.latest())
                .setDeserializer(new FloorDeserializer())
                // the job's own fetch settings (WeightPublishingJob), so the floor isolates Flink's overhead
                .setProperty("receive.buffer.bytes", String.valueOf(2 << 20))
                .setProperty("max.partition.fetch.bytes", String.valueOf(16 << 20))
                .setProperty("fetch.max.bytes", String.valueOf(64 << 20))
                .setProperty("isolation.level", "read_committed")
                .build();
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "chunks").sinkTo(new DiscardingSink<>());
        JobGraph graph = env.getStreamGraph().getJobGraph();
        long start = System.nanoTime();
        JobID id = mini.submitJob(graph).get().getJobID();
        JobResult jobResult = mini.requestJobResult(id).get(timeoutNanos, TimeUnit.NANOSECONDS);
        long end = System.nanoTime();
        checkSucceeded(jobResult);
        result.put("bytes", String.valueOf(FloorProbe.BYTES.get()));
        result.put("records", String.valueOf(FloorProbe.RECORDS.get()));
        result.put("dataplane_ms", millis(FloorProbe.LAST.get() - FloorProbe.FIRST.get()));
        result.put("wall_ms", millis(FloorProbe.LAST.get() - start));
        result.put("job_total_ms", millis(end - start));
        checkpointStats(mini, id, result);
    }

    // ------------------------------------------------------------------ the job

    /** The job's configuration: N workers, the given parallelism and store backend, no worker HTTP. */
    static Configuration jobConf(String bootstrap, String prefix, String sinkName, int workers, int parallelism,
            StoreBackend backend, long checkpointMs) {
        Configuration conf = new Configuration();
        conf.setString(PARALLELISM_KEY, String.valueOf(parallelism));
        conf.set(JobOptions.BOOTSTRAP_SERVERS, bootstrap);
        conf.set(JobOptions.TOPIC_PREFIX, prefix);
        conf.set(JobOptions.GROUP_ID, prefix + "-job-" + UUID.randomUUID());
        conf.set(JobOptions.WORKERS, workers);
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(checkpointMs));
        conf.set(JobOptions.STOP_AT_LATEST, true);
        conf.set(JobOptions.STARTING_OFFSETS, "earliest");
        conf.set(SinkOptions.NAME, sinkName);
        conf.set(SinkOptions.BACKEND, backend);
        conf.set(SinkOptions.WORKER_HTTP, false);
        return conf;
    }

    private static void runJob(MiniCluster mini, String bootstrap, String prefix, int workers, int parallelism,
            long brokerPid, StoreBackend backend, String model, long version, long checkpointMs, long timeoutNanos,
            Map<String, String> result) throws Exception {
        String sinkName = prefix + "-bench-" + UUID.randomUUID();
        Configuration conf = jobConf(bootstrap, prefix, sinkName, workers, parallelism, backend, checkpointMs);
        long self = ProcessHandle.current().pid();

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        WeightPublishingJob.build(env, conf);
        JobGraph graph = env.getStreamGraph().getJobGraph();

        long submittedAtMillis = System.currentTimeMillis();
        long start = System.nanoTime();
        JobID id = mini.submitJob(graph).get().getJobID();
        CompletableFuture<JobResult> finished = mini.requestJobResult(id);
        long first = -1;
        long done = -1;
        // CPU time of this JVM (the whole job: source, assembly, sink) and of the broker over the timed window
        long[] cpuAtFirst = {-1, -1};
        long[] cpuAtDone = {-1, -1};
        while (done < 0) {
            long now = System.nanoTime();
            if (first < 0 && WorkerProbe.anyStaged(sinkName, workers, model)) {
                first = now;
                cpuAtFirst = cpu(self, brokerPid);
            }
            if (WorkerProbe.allServe(sinkName, workers, model, version)) {
                done = now;
                cpuAtDone = cpu(self, brokerPid);
                if (first < 0) {
                    first = now;
                    cpuAtFirst = cpuAtDone;
                }
                break;
            }
            if (finished.isDone() && !WorkerProbe.allServe(sinkName, workers, model, version)) {
                JobResult r = finished.get();
                checkSucceeded(r);
                throw new IllegalStateException("the job finished but not every worker serves version " + version
                        + " of " + model + ": " + WorkerProbe.describe(sinkName, workers, model));
            }
            if (now - start > timeoutNanos) {
                throw new IllegalStateException(
                        "timed out; workers: " + WorkerProbe.describe(sinkName, workers, model));
            }
            LockSupport.parkNanos(2_000_000);
        }
        JobResult jobResult = finished.get(timeoutNanos, TimeUnit.NANOSECONDS);
        long end = System.nanoTime();
        checkSucceeded(jobResult);

        long bytes = 0;
        long slotBytes = 0;
        for (int w = 0; w < workers; w++) {
            WeightStore store = WeightSink.store(sinkName, w).orElseThrow();
            bytes = store.status(model).active().map(VersionInfo::sizeBytes).orElse(0L);
            slotBytes += store.memory().slotBytes();
        }
        result.put("bytes", String.valueOf(bytes));
        result.put("workers", String.valueOf(workers));
        result.put("backend", backend.name().toLowerCase(Locale.ROOT));
        result.put("dataplane_ms", millis(done - first));
        result.put("wall_ms", millis(done - start));
        result.put("job_total_ms", millis(end - start));
        result.put("parallelism", String.valueOf(parallelism));
        double windowMs = (done - first) / 1e6;
        if (cpuAtFirst[0] >= 0 && cpuAtDone[0] >= 0) {
            result.put("job_cores", String.format(Locale.ROOT, "%.3f",
                    ProcStat.cores(cpuAtDone[0] - cpuAtFirst[0], windowMs)));
        }
        if (cpuAtFirst[1] >= 0 && cpuAtDone[1] >= 0) {
            result.put("broker_cores", String.format(Locale.ROOT, "%.3f",
                    ProcStat.cores(cpuAtDone[1] - cpuAtFirst[1], windowMs)));
        }
        // The data plane in phases, from the workers' own status records (one clock, the sink's): staging
        // from the first chunk until the commit event reaches the sink, verification (the verify call:
        // outstanding writes and digests, then the comparison), and the wait for the committing
        // checkpoint. The slowest worker's phases are reported.
        long[] phases = WorkerProbe.phases(bootstrap, prefix, model, submittedAtMillis);
        result.put("stream_ms", String.valueOf(phases[0]));
        result.put("verify_ms", String.valueOf(phases[1]));
        result.put("commit_wait_ms", String.valueOf(phases[2]));
        result.put("slot_bytes", String.valueOf(slotBytes));
        checkpointStats(mini, id, result);
        WeightSink.release(sinkName);
    }

    /** CPU milliseconds of this JVM and of the broker (-1 where unknown). */
    static long[] cpu(long self, long brokerPid) {
        return new long[] {ProcStat.cpuMillis(self).orElse(-1),
                brokerPid > 0 ? ProcStat.cpuMillis(brokerPid).orElse(-1) : -1};
    }

    // ------------------------------------------------------------------ shared

    static void checkSucceeded(JobResult r) {
        if (!r.isSuccess()) {
            Throwable cause = r.getSerializedThrowable().map(t -> (Throwable) t).orElse(null);
            throw new IllegalStateException("the job failed: " + r.getApplicationStatus(), cause);
        }
    }

    private static void checkpointStats(MiniCluster mini, JobID id, Map<String, String> result) throws Exception {
        AccessExecutionGraph graph = mini.getArchivedExecutionGraph(id).get(30, TimeUnit.SECONDS);
        CheckpointStatsSnapshot stats = graph.getCheckpointStatsSnapshot();
        if (stats == null) {
            return;
        }
        result.put("checkpoints", String.valueOf(stats.getCounts().getNumberOfCompletedCheckpoints()));
        result.put("state_max", String.valueOf(stats.getSummaryStats().getStateSizeStats().getMaximum()));
        result.put("checkpointed_max", String.valueOf(stats.getSummaryStats().getCheckpointedSize().getMaximum()));
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
    }

    static Map<String, String> flinkSettings(String spec) {
        Map<String, String> settings = new LinkedHashMap<>();
        if (spec == null || spec.isBlank()) {
            return settings;
        }
        for (String pair : spec.split(";")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(FLINK_SETTINGS_ENV + ": '" + pair + "' is not key=value");
            }
            settings.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
        }
        return settings;
    }

    /** Parses a {@code RESULT k=v ...} line (without the prefix). */
    static Map<String, String> parseResult(String line) {
        Map<String, String> map = new LinkedHashMap<>();
        for (String part : line.trim().split("\\s+")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                map.put(part.substring(0, eq), part.substring(eq + 1));
            }
        }
        return map;
    }
}
