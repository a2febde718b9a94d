package io.weightpub.store.host;

import io.weightpub.store.StoreBackend;
import io.weightpub.store.spi.MemoryAllocator;
import io.weightpub.store.spi.SlotMemory;
import org.apache.flink.annotation.Internal;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/** Slots in off-heap host memory; writes are synchronous copies. */
@Internal
public final class HostAllocator implements MemoryAllocator {

    @Override
    public StoreBackend backend() {
        return StoreBackend.HOST;
    }

    @Override
    public String describe() {
        return "host off-heap memory";
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
        return new HostMemory(bytes);
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
