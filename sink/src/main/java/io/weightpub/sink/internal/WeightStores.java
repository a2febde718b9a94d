package io.weightpub.sink.internal;

import io.weightpub.sink.CudaAvailability;
import io.weightpub.sink.StoreBackend;
import io.weightpub.sink.WeightStore;
import io.weightpub.sink.WeightStoreConfig;

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
