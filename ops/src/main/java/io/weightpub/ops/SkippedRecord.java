package io.weightpub.ops;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** A record a reader could not use (it does not decode, or its key is not what the topic promises), and why. */
@PublicEvolving
public record SkippedRecord(String topic, int partition, long offset, String reason) {

    static SkippedRecord of(ConsumerRecord<?, ?> record, String reason) {
        return new SkippedRecord(record.topic(), record.partition(), record.offset(), reason);
    }

    @Override
    public String toString() {
        return topic + "-" + partition + "@" + offset + ": " + reason;
    }
}
