package io.weightpub.ops;

import io.weightpub.ops.internal.TopicScan;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.WorkerStatus;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.function.Function;

/**
 * Follows {@code <prefix>.status} from where it ends when the follower is opened: open it before
 * sending a request, so that no answer can slip by. Not thread-safe.
 */
@PublicEvolving
public final class StatusFollower implements AutoCloseable {

    private static final Duration POLL = Duration.ofMillis(200);

    private final String topic;
    private final Consumer<byte[], byte[]> consumer;
    private final Deque<WorkerStatus> pending = new ArrayDeque<>();

    public StatusFollower(KafkaConnection connection, TopicNames topics) {
        this.topic = topics.status();
        this.consumer = connection.consumer();
        try {
            TopicScan.seekToEnd(consumer, topic, connection.timeout());
        } catch (RuntimeException e) {
            consumer.close();
            throw e;
        }
    }

    /**
     * Reads new status records until {@code match} returns a value for one, and returns that
     * value. {@code match} may throw an {@link OpsException} to end the wait with a failure (the
     * job reported the request failed); records that do not decode are passed over.
     *
     * @param waitingFor what is awaited, for the message when the deadline passes
     */
    public <T> T await(Instant deadline, String waitingFor, Function<WorkerStatus, Optional<T>> match) {
        while (true) {
            // Records polled after an earlier match are kept for the next wait.
            while (!pending.isEmpty()) {
                Optional<T> result = match.apply(pending.poll());
                if (result.isPresent()) {
                    return result.get();
                }
            }
            Duration left = Duration.between(Instant.now(), deadline);
            if (left.isNegative() || left.isZero()) {
                throw new OpsException("gave up waiting for " + waitingFor + " on " + topic + " at " + deadline);
            }
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(left.compareTo(POLL) < 0 ? left : POLL)) {
                if (record.value() == null) {
                    continue;
                }
                try {
                    pending.add(WireCodec.STATUS.decode(record.value()));
                } catch (WireFormatException e) {
                    // Not this wait's concern: `weightpub status` lists records that do not decode.
                }
            }
        }
    }

    @Override
    public void close() {
        consumer.close();
    }
}
