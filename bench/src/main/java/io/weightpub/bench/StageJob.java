package io.weightpub.bench;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.WeightPublishingJob;
import io.weightpub.job.assembly.ChunkChecker;
import io.weightpub.job.assembly.OutboundRecord;
import io.weightpub.job.source.InputRecord;
import io.weightpub.job.source.InputRecordDeserializer;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

import java.io.Serializable;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The job cut after one of its stages, built from the job's own builders ({@link
 * WeightPublishingJob#readInputs}, {@link WeightPublishingJob#checkChunks}) with what the stage hands
 * on counted and discarded, so the benchmark can say which stage holds the whole job back:
 * <ul>
 *   <li>{@code source}: the job's Kafka source at its parallelism, each record's value counted in a
 *       sink chained to its reader;</li>
 *   <li>{@code checker}: source and chunk checkers, each checked chunk's payload (the stage event a
 *       worker would get) counted in a sink chained to its checker; receipts and dead letters
 *       discarded where they are made;</li>
 *   <li>{@code network}: as {@code checker}, but the stage events cross Flink's network to one
 *       counting subtask (one worker's intake: serialization, network buffers and deserialization on
 *       one thread, without a store).</li>
 * </ul>
 * Timed from the first record a reader hands on to the last counted; CPU of this JVM and of the broker
 * over that window.
 */
final class StageJob {

    /** The stages a job can be cut after. */
    enum Stage {
        SOURCE, CHECKER, NETWORK;

        String key() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Stage of(String key) {
            return valueOf(key.toUpperCase(Locale.ROOT));
        }
    }

    /** What the counting sinks saw; static because the sinks and the runner share this JVM. */
    static final class Probe {
        static final AtomicLong FIRST = new AtomicLong(-1);
        static final AtomicLong LAST = new AtomicLong(-1);
        static final AtomicLong BYTES = new AtomicLong();
        static final AtomicLong RECORDS = new AtomicLong();

        static void count(long bytes) {
            long now = System.nanoTime();
            FIRST.compareAndSet(-1, now);
            LAST.accumulateAndGet(now, Math::max);
            BYTES.addAndGet(bytes);
            RECORDS.incrementAndGet();
        }
    }

    /** Notes when the first record left a reader, and hands every record on untouched. */
    static final class NoteFirst implements MapFunction<InputRecord, InputRecord> {
        @Override
        public InputRecord map(InputRecord record) {
            Probe.FIRST.compareAndSet(-1, System.nanoTime());
            return record;
        }
    }

    /** The bytes a counting sink attributes to an element. */
    interface Size<T> extends Serializable {
        long of(T element);
    }

    /** Counts each element's bytes in {@link Probe} and drops it. */
    static final class CountingSink<T> implements Sink<T> {
        private final Size<T> size;

        CountingSink(Size<T> size) {
            this.size = size;
        }

        @Override
        public SinkWriter<T> createWriter(WriterInitContext context) {
            return new SinkWriter<>() {
                @Override
                public void write(T element, Context ctx) {
                    Probe.count(size.of(element));
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {}
            };
        }
    }

    private StageJob() {}

    /** Adds the stage's topology to {@code env}: the job's own operators, counted where the stage ends. */
    static void build(StreamExecutionEnvironment env, Configuration conf, Stage stage, int parallelism) {
        // chained between each reader and the rest: the window starts when a reader hands on its first
        // record, not when the first one is counted (a reader fetches ahead meanwhile: 2 fetches of 64 MiB)
        DataStream<InputRecord> input = WeightPublishingJob.readInputs(env, conf).map(new NoteFirst())
                .returns(InputRecordDeserializer.TYPE_INFO).name("note first record").setParallelism(parallelism);
        if (stage == Stage.SOURCE) {
            input.sinkTo(new CountingSink<InputRecord>(InputRecord::valueSize)).name("count records")
                    .setParallelism(parallelism);
            return;
        }
        var checked = WeightPublishingJob.checkChunks(input, conf);
        checked.sinkTo(new DiscardingSink<>()).name("discard receipts").setParallelism(parallelism);
        checked.getSideOutput(OutboundRecord.TAG).sinkTo(new DiscardingSink<>()).name("discard dead letters")
                .setParallelism(parallelism);
        DataStream<WeightEvent> staged = checked.getSideOutput(ChunkChecker.STAGE);
        if (stage == Stage.CHECKER) {
            staged.sinkTo(new CountingSink<WeightEvent>(WeightEvent::payloadLength)).name("count chunks")
                    .setParallelism(parallelism);
        } else {
            // one worker's sink subtask, as the job wires it (rebalanced from the checkers), storing nothing
            staged.rebalance().sinkTo(new CountingSink<WeightEvent>(WeightEvent::payloadLength))
                    .name("count chunks (one worker)").setParallelism(1);
        }
    }

    /** Runs the stage's job to its end and puts its bytes, time and cores into {@code result}. */
    static void run(MiniCluster mini, Configuration conf, Stage stage, int parallelism, long checkpointMs,
            long brokerPid, long timeoutNanos, Map<String, String> result) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        // as the job: the source commits offsets on checkpoints, which then run throughout
        env.enableCheckpointing(checkpointMs);
        build(env, conf, stage, parallelism);
        long self = ProcessHandle.current().pid();
        long start = System.nanoTime();
        JobID id = mini.submitJob(env.getStreamGraph().getJobGraph()).get().getJobID();
        CompletableFuture<JobResult> finished = mini.requestJobResult(id);
        long[] cpuAtFirst = null;
        long[] cpuAtLast = null;
        long seenLast = -1;
        // CPU read when the first record is counted and at each poll that saw a later one: the window's ends
        while (!finished.isDone()) {
            if (System.nanoTime() - start > timeoutNanos) {
                throw new IllegalStateException("the " + stage.key() + " stage ran past its timeout; "
                        + Probe.RECORDS.get() + " records counted");
            }
            long last = Probe.LAST.get();
            if (cpuAtFirst == null && Probe.FIRST.get() >= 0) {
                cpuAtFirst = JobRunner.cpu(self, brokerPid);
            }
            if (last != seenLast) {
                cpuAtLast = JobRunner.cpu(self, brokerPid);
                seenLast = last;
            }
            LockSupport.parkNanos(2_000_000);
        }
        JobRunner.checkSucceeded(finished.get(timeoutNanos, TimeUnit.NANOSECONDS));
        long end = System.nanoTime();
        if (Probe.RECORDS.get() == 0) {
            throw new IllegalStateException("the " + stage.key() + " stage counted no record of "
                    + conf.get(io.weightpub.job.JobOptions.TOPIC_PREFIX) + "'s topics");
        }
        double windowMs = (Probe.LAST.get() - Probe.FIRST.get()) / 1e6;
        result.put("stage", stage.key());
        result.put("parallelism", String.valueOf(parallelism));
        result.put("bytes", String.valueOf(Probe.BYTES.get()));
        result.put("records", String.valueOf(Probe.RECORDS.get()));
        result.put("dataplane_ms", String.format(Locale.ROOT, "%.3f", windowMs));
        result.put("wall_ms", String.format(Locale.ROOT, "%.3f", (Probe.LAST.get() - start) / 1e6));
        result.put("job_total_ms", String.format(Locale.ROOT, "%.3f", (end - start) / 1e6));
        if (cpuAtFirst != null && cpuAtLast != null && cpuAtFirst[0] >= 0) {
            result.put("job_cores", String.format(Locale.ROOT, "%.3f",
                    ProcStat.cores(cpuAtLast[0] - cpuAtFirst[0], windowMs)));
        }
        if (cpuAtFirst != null && cpuAtLast != null && cpuAtFirst[1] >= 0) {
            result.put("broker_cores", String.format(Locale.ROOT, "%.3f",
                    ProcStat.cores(cpuAtLast[1] - cpuAtFirst[1], windowMs)));
        }
    }
}
