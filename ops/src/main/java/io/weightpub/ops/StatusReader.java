package io.weightpub.ops;

import io.weightpub.ops.internal.TopicScan;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.WorkerStatus;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.kafka.clients.consumer.Consumer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads {@code <prefix>.status} (compacted, keyed {@code model/worker}) to its end. The latest
 * record per worker gives its state; the records before it, as far as compaction has kept them
 * ({@code min.compaction.lag.ms}), give the active version and the last error.
 */
@PublicEvolving
public final class StatusReader {

    private final KafkaConnection connection;
    private final TopicNames topics;

    public StatusReader(KafkaConnection connection, TopicNames topics) {
        this.connection = connection;
        this.topics = topics;
    }

    public StatusReport read() {
        return read(Optional.empty());
    }

    /** The workers of {@code model} only, or of every model when empty. */
    public StatusReport read(Optional<String> model) {
        Map<String, Accumulator> byWorker = new LinkedHashMap<>();
        List<SkippedRecord> skipped = new ArrayList<>();
        try (Consumer<byte[], byte[]> consumer = connection.consumer()) {
            TopicScan.readToEnd(consumer, topics.status(), connection.timeout(), (partition, record) -> {
                if (record.value() == null) {
                    return; // a tombstone: nothing to report for that key
                }
                WorkerStatus status;
                try {
                    status = WireCodec.STATUS.decode(record.value());
                } catch (WireFormatException e) {
                    skipped.add(SkippedRecord.of(record, "WorkerStatus does not decode: " + e.getMessage()));
                    return;
                }
                if (model.isPresent() && !model.get().equals(status.getModelId())) {
                    return;
                }
                byWorker.computeIfAbsent(status.getModelId() + "/" + status.getWorker(), k -> new Accumulator())
                        .add(status);
            });
        }
        List<WorkerState> workers = new ArrayList<>();
        for (Accumulator accumulator : byWorker.values()) {
            workers.add(accumulator.state());
        }
        return new StatusReport(topics.status(), workers, skipped);
    }

    /** Folds one worker's records, in offset order. */
    private static final class Accumulator {
        private WorkerStatus latest;
        private WorkerStatus active;
        private WorkerStatus lastError;

        void add(WorkerStatus status) {
            latest = status;
            boolean job = status.getWorker() == WorkerState.JOB;
            VersionState state = status.getState();
            if (job ? state == VersionState.COMPLETED
                    : state == VersionState.COMMITTED || state == VersionState.ACTIVE) {
                active = status;
            }
            if (state == VersionState.FAILED) {
                lastError = status;
            }
        }

        WorkerState state() {
            boolean staging = latest.getState() == VersionState.STAGED || latest.getState() == VersionState.VERIFIED;
            return new WorkerState(
                    latest.getModelId(),
                    latest.getWorker(),
                    latest.getState(),
                    latest.getVersion(),
                    latest.getContentVersion(),
                    latest.getStep(),
                    latest.getPublishId(),
                    latest.getTimestampMs(),
                    latest.getMessage(),
                    active == null ? -1 : active.getVersion(),
                    active == null ? -1 : active.getContentVersion(),
                    staging ? latest.getPublishId() : "",
                    lastError == null ? "" : lastError.getMessage(),
                    lastError == null ? -1 : lastError.getTimestampMs());
        }
    }
}
