package io.weightpub.store.host;

import io.weightpub.store.StoreBackend;
import io.weightpub.store.TreeDigestVerificationContract;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;

/** Tree digests verified by CPU threads over off-heap host memory. */
class HostTreeDigestVerificationTest extends TreeDigestVerificationContract {

    @Override
    protected WeightStore open(WeightStoreConfig.Builder config) {
        return WeightStore.open(config.backend(StoreBackend.HOST).build(), 0);
    }
}
