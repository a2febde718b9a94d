package io.weightpub.sink.internal;

import io.weightpub.sink.StoreBackend;
import io.weightpub.sink.WeightStoreConfig;

/** Weight store in off-heap host memory; writes are synchronous copies. */
public final class HostWeightStore extends SlotStore {

    public HostWeightStore(WeightStoreConfig config) {
        super(config, "weightpub-host", MemoryBudget.hostMemoryBytes(), "the host's physical memory");
    }

    @Override
    public StoreBackend backend() {
        return StoreBackend.HOST;
    }

    @Override
    public String describe() {
        return "host off-heap memory, " + config().slotsPerModel() + " slots per model";
    }

    @Override
    SlotMemory allocate(String modelId, long bytes) {
        return new HostMemory(bytes);
    }

    @Override
    void awaitWrites() {
        // Host writes are synchronous.
    }

    @Override
    long pinnedBytes() {
        return 0;
    }

    @Override
    long pinnedAllocations() {
        return 0;
    }

    @Override
    void closeBackend() {
        // Nothing beyond the slots.
    }
}
