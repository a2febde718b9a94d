package io.weightpub.store.cuda;

import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** On a host without a GPU the CUDA classes load, CUDA refuses clearly, and AUTO falls back to host memory. */
class CudaBackendWithoutDeviceTest {

    @Test
    void cudaStoreRefusesWithTheReasonAndAutoPicksHostMemory() {
        assumeFalse(CudaAvailability.isAvailable(), "this host has a CUDA device");
        assertThat(CudaAvailability.unavailableReason()).isNotEmpty();

        assertThatThrownBy(() -> WeightStore.open(WeightStoreConfig.builder().backend(StoreBackend.CUDA).build(), 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("CUDA")
                .hasMessageContaining(CudaAvailability.unavailableReason());
        try (WeightStore store = WeightStore.open(WeightStoreConfig.builder().backend(StoreBackend.AUTO).build(), 0)) {
            assertThat(store.backend()).isEqualTo(StoreBackend.HOST);
        }
    }
}
