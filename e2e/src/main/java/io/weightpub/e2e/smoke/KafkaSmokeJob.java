package io.weightpub.e2e.smoke;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ParameterTool;

/**
 * The job the end-to-end harness proves itself with: copies every record of one Kafka topic to
 * another, prefixed with {@value #PREFIX}, with checkpoints. Small, but it exercises what the
 * weightpub job needs from a cluster: submission through the CLI, a user jar with a shaded
 * connector, Kafka on both ends, checkpoints, and recovery after the loss of a TaskManager.
 *
 * <p>Arguments (Flink style, like the weightpub job): {@code --bootstrap.servers HOST:PORT
 * --input TOPIC --output TOPIC [--checkpoint.interval.ms N]}.
 */
public final class KafkaSmokeJob {

    public static final String PREFIX = "smoke:";

    private KafkaSmokeJob() {}

    public static void main(String[] args) throws Exception {
        ParameterTool params = ParameterTool.fromArgs(args);
        String bootstrapServers = params.getRequired("bootstrap.servers");
        String input = params.getRequired("input");
        String output = params.getRequired("output");

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.enableCheckpointing(params.getLong("checkpoint.interval.ms", 1000));

        KafkaSource<String> source = KafkaSource.<String>builder()
                .setBootstrapServers(bootstrapServers)
                .setTopics(input)
                .setGroupId("weightpub-e2e-smoke")
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setProperty("isolation.level", "read_committed")
                .setValueOnlyDeserializer(new SimpleStringSchema())
                .build();
        KafkaSink<String> sink = KafkaSink.<String>builder()
                .setBootstrapServers(bootstrapServers)
                .setRecordSerializer(KafkaRecordSerializationSchema.builder()
                        .setTopic(output)
                        .setValueSerializationSchema(new SimpleStringSchema())
                        .build())
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .build();

        env.fromSource(source, WatermarkStrategy.noWatermarks(), "smoke-input")
                .map(KafkaSmokeJob::tag)
                .name("tag")
                .sinkTo(sink)
                .name("smoke-output");
        env.execute("weightpub-e2e-smoke");
    }

    static String tag(String value) {
        return PREFIX + value;
    }
}
