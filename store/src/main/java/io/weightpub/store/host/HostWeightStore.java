package io.weightpub.store.host;

import io.weightpub.store.internal.MemoryBudget;
import io.weightpub.store.internal.SlotMemory;
import io.weightpub.store.internal.SlotStore;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStoreConfig;

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
    protected SlotMemory allocate(String modelId, long bytes) {
        return new HostMemory(bytes);
    }

    @Override
    protected void awaitWrites() {
        // Host writes are synchronous.
    }

    @Override
    protected long pinnedBytes() {
        return 0;
    }

    @Override
    protected long pinnedAllocations() {
        return 0;
    }

    @Override
    protected void closeBackend() {
        // Nothing beyond the slots.
    }
}
