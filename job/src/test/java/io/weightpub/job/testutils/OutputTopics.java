package io.weightpub.job.testutils;

import io.weightpub.publisher.testutils.TopicReader;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.testutils.EmbeddedKafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

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

    /**
     * Waits until the status records satisfy {@code condition} and returns them. Workers send their
     * records asynchronously (after the flip, through a lingering producer): a store that serves a
     * version does not mean its status record is in the topic yet.
     */
    public List<WorkerStatus> awaitStatuses(String what, Predicate<List<WorkerStatus>> condition)
            throws InterruptedException {
        AtomicReference<List<WorkerStatus>> last = new AtomicReference<>();
        RunningJob.await(what, () -> {
            last.set(statuses());
            return condition.test(last.get());
        });
        return last.get();
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
        return TopicReader.readAll(kafka.bootstrapServers(), topic, true);
    }
}
