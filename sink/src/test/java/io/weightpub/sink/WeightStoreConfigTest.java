package io.weightpub.sink;

import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The memory budget settings, from Flink options to the budgets a store enforces. */
class WeightStoreConfigTest {

    @Test
    void memoryOptionsReachTheStoreConfig() {
        Configuration flink = new Configuration();
        flink.set(SinkOptions.MEMORY_MAX_PER_MODEL, MemorySize.parse("3g"));
        flink.set(SinkOptions.MEMORY_MAX_PER_WORKER, MemorySize.parse("10g"));
        flink.set(SinkOptions.MEMORY_FRACTION, 0.5);

        WeightStoreConfig config = WeightSink.fromConfig(flink).build().storeConfig();

        assertThat(config.maxBytesPerModel()).isEqualTo(3L << 30);
        assertThat(config.maxBytesPerWorker()).isEqualTo(10L << 30);
        assertThat(config.memoryFraction()).isEqualTo(0.5);
        assertThat(WeightSink.fromConfig(new Configuration()).build().storeConfig().maxBytesPerWorker())
                .isEqualTo(WeightStoreConfig.DERIVED_BUDGET);
    }

    @Test
    void unsetBudgetsAreTheFractionOfPhysicalMemoryOnTheHost() {
        long physical = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
        try (WeightStore store = WeightStore.open(WeightStoreConfig.builder().backend(StoreBackend.HOST)
                .memoryFraction(0.5).build(), 0)) {
            assertThat(store.memory().maxBytesPerWorker()).isEqualTo((long) (physical * 0.5));
            assertThat(store.memory().maxBytesPerModel()).isEqualTo(store.memory().maxBytesPerWorker());
        }
    }

    @Test
    void negativeBudgetsAndFractionsOutsideZeroToOneAreRefused() {
        assertThatThrownBy(() -> WeightStoreConfig.builder().maxBytesPerModel(-1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("budgets");
        assertThatThrownBy(() -> WeightStoreConfig.builder().memoryFraction(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("memoryFraction");
        assertThatThrownBy(() -> WeightStoreConfig.builder().memoryFraction(1.5).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("memoryFraction");
    }
}
