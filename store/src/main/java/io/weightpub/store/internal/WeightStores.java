package io.weightpub.store.internal;

import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.store.cuda.CudaAllocator;
import io.weightpub.store.cuda.CudaAvailability;
import io.weightpub.store.host.HostAllocator;
import io.weightpub.store.spi.MemoryAllocator;
import org.apache.flink.annotation.Internal;

/** Opens the configured backend; AUTO is decided here, on the worker's host. */
@Internal
public final class WeightStores {

    private WeightStores() {}

    public static WeightStore open(WeightStoreConfig config, int worker) {
        StoreBackend backend = config.backend() == StoreBackend.AUTO
                ? (CudaAvailability.isAvailable() ? StoreBackend.CUDA : StoreBackend.HOST)
                : config.backend();
        MemoryAllocator memory = switch (backend) {
            case HOST -> new HostAllocator();
            case CUDA -> CudaAllocator.open(config, cudaDevice(config, worker));
            case AUTO -> throw new IllegalStateException("AUTO was resolved above");
        };
        return new SlotStore(config, memory);
    }

    /** The configured device, or the worker's share of the visible ones. */
    private static int cudaDevice(WeightStoreConfig config, int worker) {
        return config.cudaDevice() >= 0
                ? config.cudaDevice()
                : Math.floorMod(worker, Math.max(1, CudaAvailability.deviceCount()));
    }
}
