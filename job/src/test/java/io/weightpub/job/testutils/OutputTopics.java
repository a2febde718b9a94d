package io.weightpub.job.testutils;

import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.testutils.EmbeddedKafka;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Reads what the job wrote: status records, version index entries, dead letters. */
public final class OutputTopics {

    private final EmbeddedKafka kafka;
    private final TopicNames topics;

    public OutputTopics(EmbeddedKafka kafka, TopicNames topics) {
        this.kafka = kafka;
        this.topics = topics;
    }

    public List<WorkerStatus> statuses() {
        return decodeAll(topics.status(), WireCodec.STATUS);
    }

    public List<VersionIndexEntry> versionIndex() {
        return decodeAll(topics.versions(), WireCodec.VERSION_INDEX);
    }

    public List<DeadLetter> deadLetters() {
        return decodeAll(topics.deadLetters(), WireCodec.DEAD_LETTER);
    }

    private <T extends org.apache.avro.specific.SpecificRecord> List<T> decodeAll(String topic, WireCodec<T> codec) {
        List<T> decoded = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : readAll(topic)) {
            try {
                decoded.add(codec.decode(record.value()));
            } catch (WireFormatException e) {
                throw new AssertionError("the job wrote an undecodable record to " + topic + " at offset "
                        + record.offset(), e);
            }
        }
        return decoded;
    }

    /** Every record now in {@code topic}, read from the beginning to the current end. */
    public List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic)) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.currentTimeMillis() + 30_000;
            while (!reachedEnd(consumer, end) && System.currentTimeMillis() < deadline) {
                consumer.poll(Duration.ofMillis(100)).forEach(records::add);
            }
        }
        return records;
    }

    private static boolean reachedEnd(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> partition : end.entrySet()) {
            if (consumer.position(partition.getKey()) < partition.getValue()) {
                return false;
            }
        }
        return true;
    }
}
