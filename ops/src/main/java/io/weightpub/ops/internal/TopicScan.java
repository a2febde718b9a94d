package io.weightpub.ops.internal;

import io.weightpub.ops.OpsException;
import org.apache.flink.annotation.Internal;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/** Reads every partition of a topic from its beginning, or from its end, with a consumer that has no group. */
@Internal
public final class TopicScan {

    private static final Duration POLL = Duration.ofMillis(200);

    private TopicScan() {
    }

    /** The topic's partitions; an {@link OpsException} when the topic does not exist. */
    public static List<TopicPartition> partitions(Consumer<?, ?> consumer, String topic, Duration timeout) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) {
            throw new OpsException("topic " + topic + " does not exist; create the deployment's topics with"
                    + " `weightpub topics --create` (or check the --topic-prefix)");
        }
        List<TopicPartition> partitions = new ArrayList<>();
        for (PartitionInfo info : infos) {
            partitions.add(new TopicPartition(topic, info.partition()));
        }
        return partitions;
    }

    /**
     * Hands every record of {@code topic} that exists now to {@code each}, partition by partition
     * in offset order, and returns once the end offsets taken at the start are reached.
     */
    public static void readToEnd(Consumer<byte[], byte[]> consumer, String topic, Duration timeout,
            BiConsumer<TopicPartition, ConsumerRecord<byte[], byte[]>> each) {
        List<TopicPartition> partitions = partitions(consumer, topic, timeout);
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
        // The deadline restarts with every record: a large topic may take long, a stuck one may not.
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!reached(consumer, end, timeout)) {
            if (System.nanoTime() > deadline) {
                throw new OpsException("reading " + topic + " made no progress for " + timeout
                        + "; end offsets " + end);
            }
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
                TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                if (record.offset() < end.get(partition)) {
                    each.accept(partition, record);
                }
                deadline = System.nanoTime() + timeout.toNanos();
            }
        }
    }

    /** Positions {@code consumer} at the current end of every partition of {@code topic}. */
    public static void seekToEnd(Consumer<byte[], byte[]> consumer, String topic, Duration timeout) {
        List<TopicPartition> partitions = partitions(consumer, topic, timeout);
        consumer.assign(partitions);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
        end.forEach(consumer::seek);
    }

    private static boolean reached(Consumer<?, ?> consumer, Map<TopicPartition, Long> end, Duration timeout) {
        for (Map.Entry<TopicPartition, Long> partition : end.entrySet()) {
            if (consumer.position(partition.getKey(), timeout) < partition.getValue()) {
                return false;
            }
        }
        return true;
    }
}
