package io.weightpub.store;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.testutils.TestVersion;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static io.weightpub.store.StagedTestVersions.stageInto;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What every backend must do with memory it cannot or must not give, and with tensor metadata that
 * does not fit its bytes: refuse before anything changes, leave the store as it was, and let the
 * next valid publish through.
 */
public abstract class WeightStoreMemoryContract extends WeightStoreContract {

    /** A slot no allocator can give (a petabyte): allocation fails for real, whatever the budget. */
    protected static final long UNALLOCATABLE = 1L << 50;
    /** Bytes of a contract version ({@link #BUCKETS} buckets). */
    protected static final long S = (long) BUCKETS * BUCKET_BYTES;

    /** Budgets so large that only the allocator can fail. */
    private static WeightStoreConfig.Builder unbounded() {
        return WeightStoreConfig.builder().maxBytesPerWorker(1L << 60);
    }

    @Test
    void slotThatCannotBeAllocatedLeavesTheStoreAsItWasAndTheNextPublishBecomesActive() throws Exception {
        WeightStore store = store(unbounded());
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        TestVersion v2 = TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES);
        commit(store, v1);
        commit(store, v2);
        MemoryStats before = store.memory();

        assertThatThrownBy(() -> store.stage(MODEL, "huge", 30, UNALLOCATABLE))
                .isInstanceOf(SlotAllocationException.class)
                .isNotInstanceOf(MemoryBudgetExceededException.class)
                .hasMessageContaining("huge").hasMessageContaining("could not be allocated");

        assertThat(store.memory()).isEqualTo(before);
        assertThat(store.status(MODEL).staged()).isEmpty();
        assertThat(store.status(MODEL).active().orElseThrow().version()).isEqualTo(2);
        // v1's retired slot still holds its verified bytes: a rollback to it is still a flip.
        assertThat(store.stageResident(MODEL, v1.publishId())).isPresent();
        assertThat(store.abort(MODEL, v1.publishId())).isTrue();
        TestVersion v3 = TestVersion.of(MODEL, 3, BUCKETS, BUCKET_BYTES);
        commit(store, v3);
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(readAll(lease)).isEqualTo(v3.bytes());
        }
    }

    @Test
    void firstSlotOfAModelThatCannotBeAllocatedLeavesNoTraceAndTheNextPublishBecomesActive() throws Exception {
        WeightStore store = store(unbounded());

        assertThatThrownBy(() -> store.stage(MODEL, "huge", 10, UNALLOCATABLE))
                .isInstanceOf(SlotAllocationException.class)
                .isNotInstanceOf(MemoryBudgetExceededException.class)
                .hasMessageContaining("huge").hasMessageContaining("could not be allocated");

        assertThat(store.models()).isEmpty();
        assertThat(store.memory().slots()).isZero();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        commit(store, v1);
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(readAll(lease)).isEqualTo(v1.bytes());
        }
    }

    @Test
    void publishOverTheModelBudgetIsRefusedBeforeAnythingIsAllocatedAndTheNextThatFitsBecomesActive()
            throws Exception {
        WeightStore store = store(WeightStoreConfig.builder().slotsPerModel(3).maxBytesPerModel(3 * S));
        assertThat(store.memory().maxBytesPerModel()).isEqualTo(3 * S);
        // Larger than half the budget: no room for an active and a shadow slot, whatever is resident.
        assertThatThrownBy(() -> store.stage("other", "twice", 10, 2 * S))
                .isInstanceOfSatisfying(MemoryBudgetExceededException.class, e -> {
                    assertThat(e.budget()).isEqualTo(MemoryBudgetExceededException.Budget.MODEL);
                    assertThat(e.limitBytes()).isEqualTo(3 * S);
                })
                .hasMessageContaining("twice").hasMessageContaining("active and a shadow slot");
        assertThat(store.models()).isEmpty();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        TestVersion v2 = TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES);
        TestVersion v3 = TestVersion.of(MODEL, 3, BUCKETS + 1, BUCKET_BYTES);
        commit(store, v1);
        stageInto(store, v2, CHUNK_BYTES);
        MemoryStats before = store.memory();

        // A third slot of 1.25 S next to the active and the staged one: 3.25 S.
        assertThatThrownBy(() -> store.stage(MODEL, v3.publishId(), v3.step(), v3.size()))
                .isInstanceOfSatisfying(MemoryBudgetExceededException.class, e -> {
                    assertThat(e.budget()).isEqualTo(MemoryBudgetExceededException.Budget.MODEL);
                    assertThat(e.neededBytes()).isEqualTo(2 * S + v3.size());
                })
                .hasMessageContaining(v3.publishId()).hasMessageContaining("max-per-model");

        assertThat(store.memory()).isEqualTo(before);
        assertThat(store.status(MODEL).staged()).extracting(StagedPublish::publishId).containsExactly(v2.publishId());
        assertThat(store.verify(MODEL, v2.publishId(), v2.manifest()).ok()).isTrue();
        assertThat(store.commit(MODEL, v2.publishId(), 2, 2)).isEqualTo(CommitOutcome.FLIPPED);
        // With v1 retired its slot grows to 1.25 S: 2.25 S in all.
        commit(store, v3);
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(readAll(lease)).isEqualTo(v3.bytes());
        }
        assertThat(store.memory().slotBytes()).isEqualTo(S + v3.size());
    }

    @Test
    void budgetCountsRetiredVersionsAndEvictsOnlyThoseNoReaderHolds() throws Exception {
        WeightStore store = store(WeightStoreConfig.builder().slotsPerModel(2).residentVersions(1)
                .maxBytesPerModel(3 * S + S / 8));
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        TestVersion v2 = TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES);
        TestVersion v4 = TestVersion.of(MODEL, 4, BUCKETS + 1, BUCKET_BYTES);
        commit(store, v1);
        commit(store, v2);
        ActiveVersion reader = store.acquire(MODEL).orElseThrow();
        commit(store, TestVersion.of(MODEL, 3, BUCKETS, BUCKET_BYTES));
        MemoryStats before = store.memory();
        assertThat(before.slots()).isEqualTo(3);

        // v1's slot would grow by S/4 past the budget; only v2's could make room, and a reader holds it.
        assertThatThrownBy(() -> store.stage(MODEL, v4.publishId(), v4.step(), v4.size()))
                .isInstanceOf(MemoryBudgetExceededException.class)
                .hasMessageContaining("could be evicted");
        assertThat(store.memory()).isEqualTo(before);
        assertThat(readAll(reader)).isEqualTo(v2.bytes());

        reader.close();
        commit(store, v4);

        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(readAll(lease)).isEqualTo(v4.bytes());
        }
        assertThat(store.stageResident(MODEL, v2.publishId())).as("evicted").isEmpty();
        assertThat(store.memory().slots()).isEqualTo(2);
        assertThat(store.memory().slotBytes()).isEqualTo(S + v4.size());
    }

    @Test
    void workerBudgetEvictsRetiredVersionsOfOtherModelsAndRefusesWhenNoneIsLeft() throws Exception {
        WeightStore store = store(WeightStoreConfig.builder().maxBytesPerWorker(3 * S));
        TestVersion a1 = TestVersion.of("a", 1, BUCKETS, BUCKET_BYTES);
        commitAs(store, a1);
        commitAs(store, TestVersion.of("a", 2, BUCKETS, BUCKET_BYTES));
        commitAs(store, TestVersion.of("b", 1, BUCKETS, BUCKET_BYTES));
        assertThat(store.memory().slotBytes()).isEqualTo(3 * S);
        Set<String> aShared = store.sharedAllocations("a");

        TestVersion c1 = TestVersion.of("c", 1, BUCKETS, BUCKET_BYTES);
        commitAs(store, c1);

        assertThat(store.stageResident("a", a1.publishId())).as("a's retired version, evicted for c").isEmpty();
        // Where slots are shared, the evicted slot's allocation is gone and that of a's active slot stays.
        assertThat(store.sharedAllocations("a")).isSubsetOf(aShared).hasSize(aShared.isEmpty() ? 0 : 1);
        try (ActiveVersion lease = store.acquire("c").orElseThrow()) {
            assertThat(readAll(lease)).isEqualTo(c1.bytes());
        }
        MemoryStats before = store.memory();
        assertThat(before.slotBytes()).isEqualTo(3 * S);
        assertThatThrownBy(() -> store.stage("d", "d-publish-1", 10, S))
                .isInstanceOfSatisfying(MemoryBudgetExceededException.class,
                        e -> assertThat(e.budget()).isEqualTo(MemoryBudgetExceededException.Budget.WORKER))
                .hasMessageContaining("max-per-worker");
        assertThat(store.memory()).isEqualTo(before);
        assertThat(store.models()).containsExactlyInAnyOrder("a", "b", "c");
        for (String model : List.of("a", "b", "c")) {
            assertThat(store.status(model).active()).as(model).isPresent();
        }
    }

    private static void commitAs(WeightStore store, TestVersion version) throws SlotsExhaustedException {
        stageInto(store, version, CHUNK_BYTES);
        VerifyResult result = store.verify(version.modelId(), version.publishId(), version.manifest());
        assertThat(result.ok()).as(result.describe()).isTrue();
        assertThat(store.commit(version.modelId(), version.publishId(), version.version(), version.version()))
                .isEqualTo(CommitOutcome.FLIPPED);
    }

    @Test
    void sharedAllocationsNameEveryShareableSlotsMemoryKeepItWhileLeasedAndDropItOnceFreed() throws Exception {
        WeightStore store = store(WeightStoreConfig.builder().slotsPerModel(2).residentVersions(0)
                .leaseWaitTimeout(Duration.ofMillis(200)));
        assertThat(store.sharedAllocations(MODEL)).isEmpty();
        commit(store, TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES));
        Optional<SharedSlot> first;
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            first = lease.shared();
        }
        assumeTrue(first.isPresent(), "this backend's slots are private");
        String a1 = first.get().allocation();
        commit(store, TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES));
        TestVersion larger = TestVersion.of(MODEL, 4, BUCKETS, 2 * BUCKET_BYTES);
        String a2;
        try (ActiveVersion v2 = store.acquire(MODEL).orElseThrow()) {
            a2 = v2.shared().orElseThrow().allocation();
            assertThat(store.sharedAllocations(MODEL)).containsExactlyInAnyOrder(a1, a2);
            // Version 3 reuses version 1's slot and with it that slot's allocation.
            commit(store, TestVersion.of(MODEL, 3, BUCKETS, BUCKET_BYTES));
            assertThat(activeAllocation(store)).isEqualTo(a1);
            // The only free slot, version 2's, is too small; while leased it is neither reused nor freed.
            assertThatThrownBy(() -> store.stage(MODEL, larger.publishId(), larger.step(), larger.size()))
                    .hasMessageContaining("waited");
            assertThat(store.sharedAllocations(MODEL)).containsExactlyInAnyOrder(a1, a2);
        }
        commit(store, larger);
        String a4 = activeAllocation(store);
        assertThat(a4).isNotIn(a1, a2);
        assertThat(store.sharedAllocations(MODEL)).containsExactlyInAnyOrder(a1, a4);
        assertThat(store.sharedAllocations("another")).isEmpty();

        store.close();
        assertThat(store.sharedAllocations(MODEL)).isEmpty();
    }

    private static String activeAllocation(WeightStore store) {
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            return lease.shared().orElseThrow().allocation();
        }
    }

    @Test
    void tensorWhoseShapeDoesNotFitItsBytesFailsVerificationThoughEveryDigestMatches() throws Exception {
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        stageInto(store, v1, CHUNK_BYTES);
        // [2^40, 2^40] F64 over 4 KiB: a reader trusting the shape would read 2^83 bytes past the slot.
        VersionManifest lying = withTensor(v1.manifest(), 0, 0, tensor -> tensor.setShape(List.of(1L << 40, 1L << 40))
                .setDtype("F64").setStartIdx(0L).setEndIdx(4096L).setNumel(512L));

        VerifyResult result = store.verify(MODEL, v1.publishId(), lying);

        assertThat(result.mismatches()).isEmpty();
        assertThat(result.ok()).isFalse();
        assertThat(result.problems()).anySatisfy(p -> assertThat(p)
                .contains(TestVersion.tensorName(0, 0)).contains("[1099511627776, 1099511627776]"));
        assertThat(store.commit(MODEL, v1.publishId(), 1, 1)).isEqualTo(CommitOutcome.NOT_VERIFIED);
        assertThat(store.acquire(MODEL)).isEmpty();
    }

    /** The manifest with tensor {@code t} of bucket {@code b} changed by {@code change}. */
    protected static VersionManifest withTensor(VersionManifest manifest, int b, int t,
            java.util.function.UnaryOperator<TensorMeta.Builder> change) {
        List<BucketInfo> buckets = new ArrayList<>();
        for (BucketInfo bucket : manifest.getBuckets()) {
            if (bucket.getIndex() != b) {
                buckets.add(bucket);
                continue;
            }
            List<TensorMeta> tensors = new ArrayList<>(bucket.getTensors());
            tensors.set(t, change.apply(TensorMeta.newBuilder(tensors.get(t))).build());
            buckets.add(BucketInfo.newBuilder(bucket).setTensors(tensors).build());
        }
        return VersionManifest.newBuilder(manifest).setBuckets(buckets).build();
    }
}
