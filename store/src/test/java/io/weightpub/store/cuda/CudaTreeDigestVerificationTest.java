package io.weightpub.store.cuda;

import io.weightpub.store.StoreBackend;
import io.weightpub.store.TreeDigestVerificationContract;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import org.junit.jupiter.api.BeforeEach;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Tree digests hashed on the GPU (sha256_tree.cu) give the roots the definition gives. Skipped without a GPU. */
class CudaTreeDigestVerificationTest extends TreeDigestVerificationContract {

    @BeforeEach
    void requireGpu() {
        assumeTrue(CudaAvailability.isAvailable(), "no CUDA device: " + CudaAvailability.unavailableReason());
    }

    @Override
    protected WeightStore open(WeightStoreConfig.Builder config) {
        return WeightStore.open(config.backend(StoreBackend.CUDA).stagingBuffers(3).stagingBufferBytes(64 * 1024)
                .build(), 0);
    }
}
