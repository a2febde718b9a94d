package io.weightpub.job;

import io.weightpub.events.WeightEvent;
import io.weightpub.events.WeightEventTypeInfo;
import io.weightpub.job.assembly.ChunkChecker;
import io.weightpub.job.assembly.ChunkReceipt;
import io.weightpub.job.assembly.OutboundRecord;
import io.weightpub.job.assembly.PublishLimits;
import io.weightpub.job.assembly.VersionCoordinator;
import io.weightpub.job.source.InputRecord;
import io.weightpub.job.source.InputRecordDeserializer;
import io.weightpub.schemas.TopicNames;
import io.weightpub.sink.WeightSink;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Either;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The weight publishing job: reads the trainer topics, reassembles and versions publishes per
 * model, and streams them to one weight sink subtask per inference worker.
 *
 * <p>Run it with {@code flink run weightpub-job-<version>-flink.jar --bootstrap.servers host:9092 [--key value]...};
 * every key of {@link JobOptions} and of the sink's options is accepted, and {@code kafka.}-prefixed
 * keys are passed to every Kafka client of the job.
 */
@PublicEvolving
public final class WeightPublishingJob {

    private WeightPublishingJob() {}

    public static void main(String[] args) throws Exception {
        Configuration conf = configurationFromArgs(args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        build(env, conf);
        env.execute("weightpub: " + conf.get(JobOptions.TOPIC_PREFIX));
    }

    /** Builds the whole job on {@code env}: source, checkers, coordinators, outbound topics and weight sink. */
    public static void build(StreamExecutionEnvironment env, Configuration conf) {
        sinkToWorkers(assemble(env, conf), conf);
    }

    /**
     * Sends every event to every worker's sink subtask. Stage events come from the checkers and the
     * other events from the coordinators (a union), so the sink is never chained to them: with one
     * worker the events are forwarded (or rebalanced, from several checkers), else broadcast.
     */
    public static void sinkToWorkers(DataStream<WeightEvent> events, Configuration conf) {
        int workers = conf.get(JobOptions.WORKERS);
        TopicNames topics = TopicNames.of(conf.get(JobOptions.TOPIC_PREFIX));
        // The sink re-reads versions from the chunks topic (rollbacks to versions no longer resident,
        // recovery of lost bytes) with the same Kafka client settings as the rest of the job.
        WeightSink sink = WeightSink.fromConfig(conf)
                .statusTopic(topics.status(), conf.get(JobOptions.BOOTSTRAP_SERVERS))
                .chunksTopic(topics.chunks())
                .producerProperties(kafkaProperties(conf))
                .consumerProperties(kafkaProperties(conf))
                .build();
        (workers == 1 ? events : events.broadcast())
                .sinkTo(sink)
                .uid("weight-sink")
                .name("weights")
                .setParallelism(workers);
    }

    /**
     * The job up to the sink: the stream of sink events, with the status, version index and
     * dead-letter records already wired to their topics.
     *
     * <p>Data path: the Kafka source and the {@link ChunkChecker}s chained to it run at {@link
     * JobOptions#PARALLELISM}; each checker checks the chunks its source subtask read and sends
     * their payload straight on to the workers, and a {@link ChunkReceipt} (metadata) per chunk to
     * the {@link VersionCoordinator} of its model, keyed by model, which alone decides versions.
     * The two meet again in a union before the sink. Checkpoints are aligned, which the sink's
     * commit protocol relies on: a coordinator emits a commit only after the receipts of every
     * chunk of the version, each sent by its checker after the chunk's stage event and before the
     * checker's next barrier; with aligned barriers every such stage event reached each sink
     * subtask before that barrier, so a commit still waiting for chunks at a barrier waits for
     * bytes that will not come through the job (the sink re-reads them from Kafka or fails the
     * version). Unaligned checkpoints would let a barrier overtake those stage events.
     */
    public static DataStream<WeightEvent> assemble(StreamExecutionEnvironment env, Configuration conf) {
        TopicNames topics = TopicNames.of(conf.get(JobOptions.TOPIC_PREFIX));
        int coordinators = conf.get(JobOptions.COORDINATOR_PARALLELISM);
        if (coordinators < 1) {
            throw new IllegalArgumentException("--" + JobOptions.COORDINATOR_PARALLELISM.key() + " " + coordinators
                    + " must be at least 1");
        }
        env.enableCheckpointing(conf.get(JobOptions.CHECKPOINT_INTERVAL).toMillis());
        // See above: the sink's commit protocol needs aligned barriers.
        env.getCheckpointConfig().enableUnalignedCheckpoints(false);
        String bootstrapServers = conf.get(JobOptions.BOOTSTRAP_SERVERS);
        int deadLetterMaxRawBytes = conf.get(JobOptions.DEAD_LETTER_MAX_RAW_BYTES);
        PublishLimits limits = PublishLimits.fromConfig(conf);
        SingleOutputStreamOperator<Either<ChunkReceipt, InputRecord>> checked = checkChunks(readInputs(env, conf), conf);

        SingleOutputStreamOperator<WeightEvent> decided = checked
                .keyBy(ChunkChecker.BY_MODEL, Types.STRING)
                .process(
                        new VersionCoordinator(
                                topics,
                                conf.get(JobOptions.PUBLISH_TIMEOUT).toMillis(),
                                conf.get(JobOptions.RETAINED_MANIFESTS),
                                deadLetterMaxRawBytes,
                                limits,
                                SecurityOptions.verifier(conf)),
                        WeightEventTypeInfo.INSTANCE)
                // The uid, state names and state formats of the assembler it replaced: its keyed state
                // (ledger, publishes in flight, retained versions) is meant to carry over from a savepoint.
                .uid("version-assembler")
                .name("version coordinator")
                .setParallelism(coordinators);

        KafkaSink<Tuple3<String, byte[], byte[]>> outbound = KafkaSink.<Tuple3<String, byte[], byte[]>>builder()
                .setBootstrapServers(bootstrapServers)
                .setKafkaProducerConfig(kafkaProperties(conf))
                // Status, index and dead letters are idempotent by key or append-only diagnostics.
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .setRecordSerializer((record, context, timestamp) ->
                        new ProducerRecord<>(record.f0, record.f1, record.f2))
                .build();
        checked.getSideOutput(OutboundRecord.TAG)
                .union(decided.getSideOutput(OutboundRecord.TAG))
                .sinkTo(outbound)
                .uid("status-index-dead-letters")
                .name("status, version index, dead letters")
                .setParallelism(coordinators);
        return checked.getSideOutput(ChunkChecker.STAGE).union(decided);
    }

    /**
     * The job's first stage: the trainer topics read by {@link JobOptions#PARALLELISM} source readers,
     * bounded at the latest offsets with {@link JobOptions#STOP_AT_LATEST}. Public so that the
     * benchmark can time the stages of {@link #assemble} one by one.
     */
    public static DataStream<InputRecord> readInputs(StreamExecutionEnvironment env, Configuration conf) {
        String bootstrapServers = conf.getOptional(JobOptions.BOOTSTRAP_SERVERS).orElseThrow(() ->
                new IllegalArgumentException("missing required option --" + JobOptions.BOOTSTRAP_SERVERS.key()));
        TopicNames topics = TopicNames.of(conf.get(JobOptions.TOPIC_PREFIX));
        int parallelism = parallelism(conf);
        KafkaSourceBuilder<InputRecord> sourceBuilder = KafkaSource.<InputRecord>builder()
                .setBootstrapServers(bootstrapServers)
                .setTopics(topics.inputs())
                .setGroupId(conf.get(JobOptions.GROUP_ID))
                .setStartingOffsets(startingOffsets(conf.get(JobOptions.STARTING_OFFSETS)))
                .setDeserializer(new InputRecordDeserializer(topics))
                // Chunk records are ~1 MiB: fetch big and keep a socket buffer as large as Kafka's own
                // consumer tool does; kafka.-prefixed settings below override these.
                .setProperty("receive.buffer.bytes", String.valueOf(2 << 20))
                .setProperty("max.partition.fetch.bytes", String.valueOf(16 << 20))
                .setProperty("fetch.max.bytes", String.valueOf(64 << 20))
                .setProperties(kafkaProperties(conf))
                // A transactional publish must never be seen half-written.
                .setProperty("isolation.level", "read_committed")
                .setProperty("commit.offsets.on.checkpoint", "true");
        if (conf.get(JobOptions.STOP_AT_LATEST)) {
            sourceBuilder.setBounded(OffsetsInitializer.latest());
        }
        return env.fromSource(sourceBuilder.build(), WatermarkStrategy.noWatermarks(), "trainer topics")
                .uid("trainer-topics")
                .setParallelism(parallelism);
    }

    /**
     * The job's second stage, chained to the readers: the {@link ChunkChecker}s. Their main output (a
     * receipt per chunk, manifests and control records) goes to the coordinators, their {@link
     * ChunkChecker#STAGE} side output (checked payload) to the workers and their {@link
     * OutboundRecord#TAG} side output (dead letters) to Kafka.
     */
    public static SingleOutputStreamOperator<Either<ChunkReceipt, InputRecord>> checkChunks(
            DataStream<InputRecord> input, Configuration conf) {
        TopicNames topics = TopicNames.of(conf.get(JobOptions.TOPIC_PREFIX));
        int parallelism = parallelism(conf);
        // Chained to the source: the record's bytes are checked where they were read, never serialized.
        return input
                .process(new ChunkChecker(topics, conf.get(JobOptions.DEAD_LETTER_MAX_RAW_BYTES),
                        PublishLimits.fromConfig(conf)), ChunkChecker.OUTPUT_TYPE)
                .uid("chunk-checker")
                .name("chunk checker")
                .setParallelism(parallelism);
    }

    private static int parallelism(Configuration conf) {
        int parallelism = conf.get(JobOptions.PARALLELISM);
        if (parallelism < 1) {
            throw new IllegalArgumentException("--" + JobOptions.PARALLELISM.key() + " " + parallelism
                    + " must be at least 1");
        }
        return parallelism;
    }

    /** Kafka client properties passed through with the {@code kafka.} prefix (TLS, SASL, ...). */
    public static Properties kafkaProperties(Configuration conf) {
        Properties props = new Properties();
        conf.toMap().forEach((key, value) -> {
            if (key.startsWith(JobOptions.KAFKA_PROPERTY_PREFIX)) {
                props.setProperty(key.substring(JobOptions.KAFKA_PROPERTY_PREFIX.length()), value);
            }
        });
        return props;
    }

    static OffsetsInitializer startingOffsets(String mode) {
        switch (mode) {
            case "earliest":
                return OffsetsInitializer.earliest();
            case "latest":
                return OffsetsInitializer.latest();
            case "committed-or-earliest":
                return OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
            default:
                throw new IllegalArgumentException("--" + JobOptions.STARTING_OFFSETS.key() + " '" + mode
                        + "': expected earliest, latest or committed-or-earliest");
        }
    }

    /** Parses {@code --key value} pairs (a key without a value means "true"). */
    public static Configuration configurationFromArgs(String[] args) {
        Map<String, String> values = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || args[i].length() == 2) {
                throw new IllegalArgumentException("argument '" + args[i] + "' is not a --key; expected --key value");
            }
            String key = args[i].substring(2);
            if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                values.put(key, args[++i]);
            } else {
                values.put(key, "true");
            }
        }
        return Configuration.fromMap(values);
    }
}
