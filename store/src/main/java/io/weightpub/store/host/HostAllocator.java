package io.weightpub.store.host;

import io.weightpub.store.StoreBackend;
import io.weightpub.store.spi.MemoryAllocator;
import io.weightpub.store.spi.SlotMemory;
import org.apache.flink.annotation.Internal;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/** Slots in off-heap host memory; writes are synchronous copies. */
@Internal
public final class HostAllocator implements MemoryAllocator {

    private static final AtomicLong SLOT_FILES = new AtomicLong();

    /** Where slots are files engine processes map; null: private memory. */
    private final Path sharedDirectory;

    /** Private off-heap slots. */
    public HostAllocator() {
        this(Optional.empty());
    }

    /** Slots as files in {@code sharedDirectory} (a tmpfs) that engine processes map; empty: private memory. */
    public HostAllocator(Optional<String> sharedDirectory) {
        this.sharedDirectory = sharedDirectory.map(Path::of).orElse(null);
    }

    @Override
    public StoreBackend backend() {
        return StoreBackend.HOST;
    }

    @Override
    public String describe() {
        return sharedDirectory == null ? "host off-heap memory" : "host shared memory in " + sharedDirectory;
    }

    @Override
    public String threadName() {
        return "weightpub-host";
    }

    /** Physical memory of the host (the container's limit where there is one). */
    @Override
    public long memoryBytes() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getTotalMemorySize();
        }
        // Without the platform bean, the JVM's own limit is the only size known.
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public String memoryName() {
        return "the host's physical memory";
    }

    @Override
    public SlotMemory allocate(String modelId, long bytes) {
        if (sharedDirectory == null) {
            return new HostMemory(bytes);
        }
        // Unique per JVM; the model id only helps a person reading /dev/shm.
        String name = "weightpub-" + ProcessHandle.current().pid() + "-" + SLOT_FILES.incrementAndGet() + "-"
                + fileSafe(modelId) + ".slot";
        return HostMemory.shared(sharedDirectory, name, bytes);
    }

    private static String fileSafe(String modelId) {
        String safe = modelId.replaceAll("[^A-Za-z0-9._-]", "_");
        return safe.length() > 64 ? safe.substring(0, 64) : safe;
    }

    @Override
    public void awaitWrites() {
        // Host writes are synchronous.
    }

    @Override
    public long pinnedBytes() {
        return 0;
    }

    @Override
    public long pinnedAllocations() {
        return 0;
    }

    @Override
    public void close() {
        // Nothing beyond the slots.
    }
}
