package io.weightpub.store;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SharedSlotTest {

    private static final String ALLOCATION = "0123456789abcdef";

    @Test
    void anAllocationIdIsSixteenLowercaseHexDigitsAndAnythingElseIsRefused() {
        assertThat(SharedSlot.hostFile(ALLOCATION, "/dev/shm/s", 0, 8).allocation()).isEqualTo(ALLOCATION);
        for (String bad : new String[] {"0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg",
                ""}) {
            assertThatThrownBy(() -> SharedSlot.hostFile(bad, "/dev/shm/s", 0, 8))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'" + bad + "'");
        }
        assertThatThrownBy(() -> SharedSlot.cudaIpc(null, "GPU-1", new byte[64], 0, 8))
                .isInstanceOf(NullPointerException.class);
    }

    @Test
    void newAllocationIdsAreValidAndDoNotRepeat() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            String id = SharedSlot.newAllocationId();
            assertThat(id).matches("[0-9a-f]{16}");
            ids.add(id);
        }
        assertThat(ids).hasSize(10_000);
    }

    @Test
    void slotsOfDifferentAllocationsDifferEvenWhenTheirHandleBytesMatch() {
        byte[] handle = new byte[64];
        SharedSlot a = SharedSlot.cudaIpc(ALLOCATION, "GPU-1", handle, 0, 8);
        assertThat(SharedSlot.cudaIpc(ALLOCATION, "GPU-1", handle, 0, 8)).isEqualTo(a).hasSameHashCodeAs(a);
        assertThat(SharedSlot.cudaIpc("fedcba9876543210", "GPU-1", handle, 0, 8)).isNotEqualTo(a);
    }
}
