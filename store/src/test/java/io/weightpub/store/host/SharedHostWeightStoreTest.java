package io.weightpub.store.host;

import io.weightpub.store.ActiveVersion;
import io.weightpub.store.SharedSlot;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.store.WeightStoreMemoryContract;
import io.weightpub.testutils.TestVersion;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

import static io.weightpub.store.StagedTestVersions.stageInto;
import static org.assertj.core.api.Assertions.assertThat;

/** The store contract on host slots that are shared-memory files, plus what sharing adds. */
class SharedHostWeightStoreTest extends WeightStoreMemoryContract {

    @TempDir
    Path shm;

    @Override
    protected WeightStore open(WeightStoreConfig.Builder config) {
        return WeightStore.open(config.backend(StoreBackend.HOST).sharedMemoryDirectory(shm.toString()).build(), 0);
    }

    @Test
    void anActiveVersionIsAnOwnerOnlyFileAnotherMappingReadsAndClosingTheStoreRemovesIt() throws Exception {
        WeightStore store = open(WeightStoreConfig.builder());
        TestVersion v1 = TestVersion.of(MODEL, 1, 2, 8192);
        stageInto(store, v1, 4096);
        assertThat(store.verify(MODEL, v1.publishId(), v1.manifest()).ok()).isTrue();
        store.commit(MODEL, v1.publishId(), 1, 1);

        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            SharedSlot shared = lease.shared().orElseThrow();
            Path file = Path.of(shared.path().orElseThrow());
            assertThat(file.getParent()).isEqualTo(shm);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                ByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, shared.offset(), shared.sizeBytes());
                byte[] bytes = new byte[v1.size()];
                mapped.get(bytes);
                assertThat(bytes).isEqualTo(v1.bytes());
            }
            assertThat(lease.buckets()).extracting(b -> b.offset()).containsExactly(0L, 8192L);
        }
        store.close();
        try (Stream<Path> left = Files.list(shm)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void privateHostSlotsAreNotShared() throws Exception {
        WeightStore store = WeightStore.open(WeightStoreConfig.builder().backend(StoreBackend.HOST).build(), 0);
        TestVersion v1 = TestVersion.of(MODEL, 1, 1, 4096);
        stageInto(store, v1, 4096);
        store.verify(MODEL, v1.publishId(), v1.manifest());
        store.commit(MODEL, v1.publishId(), 1, 1);
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(lease.shared()).isEmpty();
            assertThat(store.sharedAllocations(MODEL)).isEmpty();
        } finally {
            store.close();
        }
    }
}
