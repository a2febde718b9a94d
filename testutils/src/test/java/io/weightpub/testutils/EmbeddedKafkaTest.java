package io.weightpub.testutils;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class EmbeddedKafkaTest {

    @RegisterExtension static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @Test
    void brokerListensOnLoopbackAndRoundTripsARecord() throws Exception {
        assertThat(KAFKA.bootstrapServers()).satisfiesAnyOf(
                s -> assertThat(s).startsWith("localhost:"), s -> assertThat(s).startsWith("127.0.0.1:"));
        KAFKA.createTopic("roundtrip", 1, Map.of());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                "bootstrap.servers", KAFKA.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("roundtrip", "k".getBytes(), "v".getBytes())).get();
        }
        List<ConsumerRecord<byte[], byte[]>> seen = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                "bootstrap.servers", KAFKA.bootstrapServers(), "auto.offset.reset", "earliest",
                "group.id", "roundtrip-test"), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of("roundtrip"));
            long deadline = System.currentTimeMillis() + 30_000;
            while (seen.isEmpty() && System.currentTimeMillis() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(seen::add);
            }
        }
        assertThat(seen).hasSize(1);
        assertThat(new String(seen.get(0).value())).isEqualTo("v");
    }
}
