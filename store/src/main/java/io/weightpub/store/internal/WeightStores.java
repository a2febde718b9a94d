package io.weightpub.store.internal;

import io.weightpub.store.cuda.CudaWeightStore;
import io.weightpub.store.host.HostWeightStore;
import io.weightpub.store.cuda.CudaAvailability;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;

/** Opens the configured backend; AUTO is decided here, on the worker's host. */
public final class WeightStores {

    private WeightStores() {}

    public static WeightStore open(WeightStoreConfig config, int worker) {
        StoreBackend backend = config.backend() == StoreBackend.AUTO
                ? (CudaAvailability.isAvailable() ? StoreBackend.CUDA : StoreBackend.HOST)
                : config.backend();
        if (backend == StoreBackend.HOST) {
            return new HostWeightStore(config);
        }
        int device = config.cudaDevice() >= 0
                ? config.cudaDevice()
                : Math.floorMod(worker, Math.max(1, CudaAvailability.deviceCount()));
        return CudaWeightStore.open(config, device);
    }
}
