package io.weightpub.sink;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What every backend must do with memory it cannot or must not give, and with tensor metadata that
 * does not fit its bytes: refuse before anything changes, leave the store as it was, and let the
 * next valid publish through.
 */
public abstract class WeightStoreMemoryContract extends WeightStoreContract {

    /** A slot no allocator can give (a petabyte): allocation fails for real, whatever the budget. */
    protected static final long UNALLOCATABLE = 1L << 50;

    @Test
    void slotThatCannotBeAllocatedLeavesTheStoreAsItWasAndTheNextPublishBecomesActive() throws Exception {
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        TestVersion v2 = TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES);
        commit(store, v1);
        commit(store, v2);
        MemoryStats before = store.memory();

        assertThatThrownBy(() -> store.stage(MODEL, "huge", 30, UNALLOCATABLE))
                .isInstanceOf(Throwable.class)
                .hasMessageContaining("huge");

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
        WeightStore store = store();

        assertThatThrownBy(() -> store.stage(MODEL, "huge", 10, UNALLOCATABLE))
                .isInstanceOf(Throwable.class)
                .hasMessageContaining("huge");

        assertThat(store.models()).isEmpty();
        assertThat(store.memory().slots()).isZero();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        commit(store, v1);
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(readAll(lease)).isEqualTo(v1.bytes());
        }
    }

    @Test
    void tensorWhoseShapeDoesNotFitItsBytesFailsVerificationThoughEveryDigestMatches() throws Exception {
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        v1.stageInto(store, CHUNK_BYTES);
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
