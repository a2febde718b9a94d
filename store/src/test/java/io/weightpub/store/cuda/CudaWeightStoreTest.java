package io.weightpub.store.cuda;

import io.weightpub.store.ActiveVersion;
import io.weightpub.store.MemoryStats;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.VerifyResult;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.store.WeightStoreMemoryContract;
import io.weightpub.testutils.TestVersion;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.security.MessageDigest;

import static io.weightpub.store.StagedTestVersions.stageInto;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The store contract on a GPU, plus what only the device path has: bytes copied back from the
 * device, the pinned ring wrapping around, and memory back to baseline. Skipped without a GPU.
 */
class CudaWeightStoreTest extends WeightStoreMemoryContract {

    private static final int MIB = 1024 * 1024;

    @BeforeEach
    void requireGpu() {
        assumeTrue(CudaAvailability.isAvailable(), "no CUDA device: " + CudaAvailability.unavailableReason());
    }

    @Override
    protected WeightStore open(WeightStoreConfig.Builder config) {
        // A small ring so that even the contract's small versions wrap around it.
        return WeightStore.open(config.backend(StoreBackend.CUDA).stagingBuffers(3).stagingBufferBytes(32 * 1024)
                .build(), 0);
    }

    @Test
    void deviceBytesAreBitExactAfterStagingThroughAWrappingRing() throws Exception {
        WeightStore store = store(WeightStoreConfig.builder().stagingBuffers(4).stagingBufferBytes(4 * MIB)
                .copyThreads(4));
        TestVersion big = TestVersion.of(MODEL, 1, 8, 8 * MIB);
        stageInto(store, big, MIB);
        VerifyResult result = store.verify(MODEL, big.publishId(), big.manifest());
        assertThat(result.ok()).as(result.describe()).isTrue();
        store.commit(MODEL, big.publishId(), 1, 1);

        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(lease.location()).isEqualTo(StoreBackend.CUDA);
            byte[] back = new byte[big.size()];
            lease.read(0, back, 0, back.length);
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            assertThat(digest.digest(back)).isEqualTo(big.sha256());
        }
    }

    @Test
    void pinnedRingIsReusedAcrossVersionsAndDeviceMemoryReturnsToBaselineAfterClose() throws Exception {
        try (CudaDevice device = CudaDevice.open(0)) {
            // Holding the primary context ourselves: otherwise releasing it would free everything and hide a leak.
            long before = device.memInfo()[0];
            WeightStore store = WeightStore.open(WeightStoreConfig.builder().backend(StoreBackend.CUDA)
                    .stagingBuffers(4).stagingBufferBytes(MIB).build(), 0);
            long pinnedAllocations = store.memory().pinnedAllocations();
            for (long v = 1; v <= 5; v++) {
                TestVersion version = TestVersion.of(MODEL, v, 4, 8 * MIB);
                commit(store, version);
                assertThat(store.memory().pinnedAllocations()).as("pinned allocations after version %d", v)
                        .isEqualTo(pinnedAllocations);
            }
            assertThat(store.memory().slots()).isEqualTo(2);

            store.close();

            MemoryStats after = store.memory();
            assertThat(after.slotBytes()).isZero();
            assertThat(after.pinnedBytes()).isZero();
            long leaked = before - device.memInfo()[0];
            assertThat(leaked).as("device bytes not returned (two slots hold 64 MiB)").isLessThan(4L * MIB);
        }
    }
}
