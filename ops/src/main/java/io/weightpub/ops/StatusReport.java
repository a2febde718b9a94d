package io.weightpub.ops;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** Every (model, worker) of the status topic, by model, then worker (the job, -1, first). */
@PublicEvolving
public final class StatusReport {

    private final String topic;
    private final List<WorkerState> workers;
    private final List<SkippedRecord> skipped;

    StatusReport(String topic, List<WorkerState> workers, List<SkippedRecord> skipped) {
        this.topic = topic;
        this.workers = workers.stream()
                .sorted(Comparator.comparing(WorkerState::modelId).thenComparingInt(WorkerState::worker))
                .toList();
        this.skipped = List.copyOf(skipped);
    }

    public String topic() {
        return topic;
    }

    public List<WorkerState> workers() {
        return workers;
    }

    public List<WorkerState> workers(String modelId) {
        return workers.stream().filter(w -> w.modelId().equals(modelId)).toList();
    }

    public Optional<WorkerState> find(String modelId, int worker) {
        return workers.stream().filter(w -> w.modelId().equals(modelId) && w.worker() == worker).findFirst();
    }

    /** Records of the topic that could not be read. */
    public List<SkippedRecord> skipped() {
        return skipped;
    }
}
