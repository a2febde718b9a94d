package io.weightpub.job;

import io.weightpub.job.assembly.PublishLimits;
import io.weightpub.job.assembly.VersionAssembler;
import io.weightpub.job.source.InputRecord;
import io.weightpub.job.source.InputRecordDeserializer;
import io.weightpub.schemas.TopicNames;
import io.weightpub.sink.WeightEvent;
import io.weightpub.sink.WeightEventTypeInfo;
import io.weightpub.sink.WeightSink;

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
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
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
public final class WeightPublishingJob {

    private WeightPublishingJob() {}

    public static void main(String[] args) throws Exception {
        Configuration conf = configurationFromArgs(args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        build(env, conf);
        env.execute("weightpub: " + conf.get(JobOptions.TOPIC_PREFIX));
    }

    /** Builds the whole job on {@code env}: source, assembler, outbound topics and weight sink. */
    public static void build(StreamExecutionEnvironment env, Configuration conf) {
        SingleOutputStreamOperator<WeightEvent> events = assemble(env, conf);
        sinkToWorkers(events, conf);
    }

    /**
     * Sends every event to every worker's sink subtask. With one assembler and one worker the events
     * are forwarded instead, so Flink chains the whole job and chunk bytes are never serialized.
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
        boolean chainable = workers == 1 && conf.get(JobOptions.ASSEMBLER_PARALLELISM) == 1;
        (chainable ? events : events.broadcast())
                .sinkTo(sink)
                .uid("weight-sink")
                .name("weights")
                .setParallelism(workers);
    }

    /**
     * The job up to the assembler: the ordered stream of sink events, with the status, version
     * index and dead-letter records already wired to their topics.
     */
    public static SingleOutputStreamOperator<WeightEvent> assemble(StreamExecutionEnvironment env, Configuration conf) {
        String bootstrapServers = conf.getOptional(JobOptions.BOOTSTRAP_SERVERS).orElseThrow(() ->
                new IllegalArgumentException("missing required option --" + JobOptions.BOOTSTRAP_SERVERS.key()));
        TopicNames topics = TopicNames.of(conf.get(JobOptions.TOPIC_PREFIX));
        int parallelism = conf.get(JobOptions.ASSEMBLER_PARALLELISM);
        env.enableCheckpointing(conf.get(JobOptions.CHECKPOINT_INTERVAL).toMillis());

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
        KafkaSource<InputRecord> source = sourceBuilder.build();

        DataStream<InputRecord> input = env.fromSource(source, WatermarkStrategy.noWatermarks(), "trainer topics")
                .uid("trainer-topics")
                .setParallelism(parallelism);

        // With one assembler every key lands on it anyway: reinterpreting the source as keyed lets
        // Flink chain source and assembler, so chunk bytes are never serialized between them.
        KeyedStream<InputRecord, String> byModel = parallelism == 1
                ? DataStreamUtils.reinterpretAsKeyedStream(input, InputRecord::modelKey, Types.STRING)
                : input.keyBy(InputRecord::modelKey, Types.STRING);
        SingleOutputStreamOperator<WeightEvent> events = byModel
                .process(
                        new VersionAssembler(
                                topics,
                                conf.get(JobOptions.PUBLISH_TIMEOUT).toMillis(),
                                conf.get(JobOptions.RETAINED_MANIFESTS),
                                conf.get(JobOptions.DEAD_LETTER_MAX_RAW_BYTES),
                                PublishLimits.fromConfig(conf),
                                SecurityOptions.verifier(conf)),
                        WeightEventTypeInfo.INSTANCE)
                .uid("version-assembler")
                .name("version assembler")
                .setParallelism(parallelism);

        KafkaSink<Tuple3<String, byte[], byte[]>> outbound = KafkaSink.<Tuple3<String, byte[], byte[]>>builder()
                .setBootstrapServers(bootstrapServers)
                .setKafkaProducerConfig(kafkaProperties(conf))
                // Status, index and dead letters are idempotent by key or append-only diagnostics.
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .setRecordSerializer((record, context, timestamp) ->
                        new ProducerRecord<>(record.f0, record.f1, record.f2))
                .build();
        events.getSideOutput(VersionAssembler.OUTBOUND)
                .sinkTo(outbound)
                .uid("status-index-dead-letters")
                .name("status, version index, dead letters")
                .setParallelism(parallelism);
        return events;
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
