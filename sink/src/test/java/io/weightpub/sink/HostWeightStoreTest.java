package io.weightpub.sink;

import io.weightpub.sink.internal.HostWeightStore;

/** The store contract on off-heap host memory. */
class HostWeightStoreTest extends WeightStoreMemoryContract {

    @Override
    protected WeightStore open(WeightStoreConfig.Builder config) {
        return new HostWeightStore(config.backend(StoreBackend.HOST).build());
    }
}
