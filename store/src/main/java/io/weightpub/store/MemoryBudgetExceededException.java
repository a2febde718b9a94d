package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

/**
 * Staging a publish would take a model's or the worker's slots over their memory budget
 * ({@link WeightStoreConfig#maxBytesPerModel()}, {@link WeightStoreConfig#maxBytesPerWorker()}),
 * even after evicting every retired version it may evict, or the version is larger than half a
 * budget (it needs an active and a shadow slot). Thrown before anything is allocated or evicted.
 */
@PublicEvolving
public final class MemoryBudgetExceededException extends SlotAllocationException {

    /** Which budget the publish would exceed. */
    public enum Budget {
        MODEL,
        WORKER
    }

    private final Budget budget;
    private final long limitBytes;
    private final long neededBytes;

    public MemoryBudgetExceededException(String modelId, String publishId, long versionBytes, Budget budget,
            long limitBytes, long neededBytes, String message) {
        super(modelId, publishId, versionBytes, message, null);
        this.budget = budget;
        this.limitBytes = limitBytes;
        this.neededBytes = neededBytes;
    }

    public Budget budget() {
        return budget;
    }

    /** The budget in bytes. */
    public long limitBytes() {
        return limitBytes;
    }

    /** The bytes the budget would have to hold for this publish. */
    public long neededBytes() {
        return neededBytes;
    }
}
