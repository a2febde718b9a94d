package io.weightpub.store.host;

import io.weightpub.store.internal.MemoryBudget;
import io.weightpub.store.internal.SlotMemory;
import io.weightpub.store.internal.SlotStore;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStoreConfig;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/** Weight store in off-heap host memory; writes are synchronous copies. */
public final class HostWeightStore extends SlotStore {

    private static final AtomicLong SLOT_FILES = new AtomicLong();

    /** Where slots are files engine processes map; null: private memory. */
    private final Path sharedDirectory;

    public HostWeightStore(WeightStoreConfig config) {
        super(config, "weightpub-host", MemoryBudget.hostMemoryBytes(), "the host's physical memory");
        this.sharedDirectory = config.sharedMemoryDirectory().map(Path::of).orElse(null);
    }

    @Override
    public StoreBackend backend() {
        return StoreBackend.HOST;
    }

    @Override
    public String describe() {
        return (sharedDirectory == null ? "host off-heap memory" : "host shared memory in " + sharedDirectory) + ", "
                + config().slotsPerModel() + " slots per model";
    }

    @Override
    protected SlotMemory allocate(String modelId, long bytes) {
        if (sharedDirectory == null) {
            return new HostMemory(bytes);
        }
        // Unique per JVM and store; the model id only helps a person reading /dev/shm.
        String name = "weightpub-" + ProcessHandle.current().pid() + "-" + SLOT_FILES.incrementAndGet() + "-"
                + fileSafe(modelId) + ".slot";
        return HostMemory.shared(sharedDirectory, name, bytes);
    }

    private static String fileSafe(String modelId) {
        String safe = modelId.replaceAll("[^A-Za-z0-9._-]", "_");
        return safe.length() > 64 ? safe.substring(0, 64) : safe;
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
