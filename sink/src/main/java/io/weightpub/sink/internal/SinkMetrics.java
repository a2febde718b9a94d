package io.weightpub.sink.internal;

import io.weightpub.store.ActiveVersion;
import io.weightpub.store.WeightStore;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * One worker's metrics, in its sink writer's metric group: what it staged, verified and failed,
 * its staging throughput, what it re-read from Kafka, and per model the version it serves.
 */
final class SinkMetrics {

    final Counter chunksStaged;
    /** Chunk events not staged: duplicates of staged bytes, or lying about their publish. */
    final Counter chunksIgnored;
    final Counter bytesStaged;
    final Counter versionsVerified;
    final Counter versionsFailed;
    final Counter residentFlips;
    final Counter bytesReplayed;
    private final MetricGroup group;
    private final WeightStore store;
    private final Set<String> models = new HashSet<>();

    SinkMetrics(MetricGroup group, WeightStore store) {
        this.group = group;
        this.store = store;
        chunksStaged = group.counter("chunksStaged");
        chunksIgnored = group.counter("chunksIgnored");
        bytesStaged = group.counter("bytesStaged");
        group.meter("stagingBytesPerSecond", new MeterView(bytesStaged));
        versionsVerified = group.counter("versionsVerified");
        versionsFailed = group.counter("versionsFailed");
        residentFlips = group.counter("residentFlips");
        bytesReplayed = group.counter("bytesReplayedFromKafka");
    }

    /** Registers the model's gauges the first time the worker hears of it. */
    void watch(String modelId) {
        if (models.add(modelId)) {
            MetricGroup model = group.addGroup("model", modelId);
            model.gauge("activeVersion", () -> active(modelId).map(ActiveVersionFacts::version).orElse(-1L));
            model.gauge("activeContentVersion",
                    () -> active(modelId).map(ActiveVersionFacts::contentVersion).orElse(-1L));
        }
    }

    private Optional<ActiveVersionFacts> active(String modelId) {
        try (ActiveVersion lease = store.acquire(modelId).orElse(null)) {
            return lease == null
                    ? Optional.empty()
                    : Optional.of(new ActiveVersionFacts(lease.info().version(), lease.info().contentVersion()));
        }
    }

    private record ActiveVersionFacts(long version, long contentVersion) {}
}
