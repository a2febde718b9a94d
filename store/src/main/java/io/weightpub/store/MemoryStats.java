package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

/**
 * Memory a weight store holds: slot memory (device memory on CUDA, off-heap on host) and pinned
 * host staging/readback memory. Both are zero after {@link WeightStore#close()}. The budgets are
 * those in force (resolved from the worker's memory where not configured).
 */
@PublicEvolving
public record MemoryStats(int slots, long slotBytes, long pinnedBytes, long pinnedAllocations,
        long maxBytesPerModel, long maxBytesPerWorker) {

    /** True when the store holds no slot and no pinned memory (after close, or before any publish). */
    public boolean holdsNothing() {
        return slots == 0 && slotBytes == 0 && pinnedBytes == 0 && pinnedAllocations == 0;
    }
}
