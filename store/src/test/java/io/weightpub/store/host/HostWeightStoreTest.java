package io.weightpub.store.host;

import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.store.WeightStoreMemoryContract;


/** The store contract on off-heap host memory. */
class HostWeightStoreTest extends WeightStoreMemoryContract {

    @Override
    protected WeightStore open(WeightStoreConfig.Builder config) {
        return WeightStore.open(config.backend(StoreBackend.HOST).build(), 0);
    }
}
