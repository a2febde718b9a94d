package io.weightpub.publisher;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BucketPlannerTest {

    private static TensorSource tensor(String name, DType dtype, long... shape) {
        return TensorSource.ofBytes(name, dtype, shape,
                new byte[(int) (TensorSource.numel(name, shape) * dtype.itemSize())]);
    }

    @Test
    void alignsEachTensorToItsItemSizeInsideMixedDtypeBuckets() {
        BucketPlan plan = BucketPlanner.plan(List.of(
                tensor("mask", DType.BOOL, 3),      // [0, 3)
                tensor("half", DType.BF16, 3),      // aligned 3 -> 4: [4, 10)
                tensor("float", DType.F32, 1),      // 10 -> 12: [12, 16)
                tensor("byte", DType.U8, 1),        // [16, 17)
                tensor("double", DType.F64, 2),     // 17 -> 24: [24, 40)
                tensor("fp8", DType.F8_E4M3, 5)),   // [40, 45)
                1024);
        assertThat(plan.buckets()).hasSize(1);
        BucketPlan.Bucket bucket = plan.buckets().get(0);
        assertThat(bucket.slots()).extracting(BucketPlan.Slot::start).containsExactly(0L, 4L, 12L, 16L, 24L, 40L);
        assertThat(bucket.slots()).extracting(BucketPlan.Slot::end).containsExactly(3L, 10L, 16L, 17L, 40L, 45L);
        assertThat(bucket.sizeBytes()).as("padded to 8 bytes").isEqualTo(48);
        assertThat(plan.totalBytes()).isEqualTo(48);
    }

    @Test
    void startsANewBucketWhenATensorDoesNotFitAndLaysBucketsEndToEnd() {
        BucketPlan plan = BucketPlanner.plan(List.of(
                tensor("a", DType.F32, 10),  // 40 bytes
                tensor("b", DType.F32, 6),   // 40 + 24 = 64: fits exactly
                tensor("c", DType.U8, 1),    // does not fit: bucket 1
                tensor("d", DType.F16, 30)), // 2 + 60 = 62: fits
                64);
        assertThat(plan.buckets()).extracting(BucketPlan.Bucket::sizeBytes).containsExactly(64L, 64L);
        assertThat(plan.buckets()).extracting(BucketPlan.Bucket::offset).containsExactly(0L, 64L);
        assertThat(plan.buckets().get(1).slots()).extracting(s -> s.tensor().name()).containsExactly("c", "d");
        assertThat(plan.buckets().get(1).slots().get(1).start()).isEqualTo(2);
    }

    @Test
    void givesATensorLargerThanTheBucketSizeABucketOfItsOwn() {
        BucketPlan plan = BucketPlanner.plan(List.of(
                tensor("small", DType.U8, 8),
                tensor("huge", DType.BF16, 100),  // 200 bytes > 64
                tensor("after", DType.U8, 8)),
                64);
        assertThat(plan.buckets()).hasSize(3);
        assertThat(plan.buckets().get(1).slots()).extracting(s -> s.tensor().name()).containsExactly("huge");
        assertThat(plan.buckets().get(1).sizeBytes()).isEqualTo(200);
        assertThat(plan.buckets()).extracting(BucketPlan.Bucket::offset).containsExactly(0L, 8L, 208L);
        assertThat(plan.totalBytes()).isEqualTo(216);
        assertThat(plan.bucketSizeLimit()).isEqualTo(64);
    }

    @Test
    void anOversizedFirstTensorSharesItsBucketOnlyWithEmptyTensors() {
        BucketPlan plan = BucketPlanner.plan(List.of(
                tensor("empty.before", DType.F32, 0, 5),
                tensor("huge", DType.U8, 100),
                tensor("empty.after", DType.F64, 0)),
                16);
        assertThat(plan.buckets()).hasSize(1);
        BucketPlan.Bucket bucket = plan.buckets().get(0);
        assertThat(bucket.slots()).extracting(BucketPlan.Slot::start).containsExactly(0L, 0L, 104L);
        assertThat(bucket.slots()).extracting(BucketPlan.Slot::end).containsExactly(0L, 100L, 104L);
        assertThat(bucket.sizeBytes()).isEqualTo(104);
    }

    @Test
    void placesEmptyTensorsAsZeroLengthSlotsAndScalarsAsOneItem() {
        BucketPlan plan = BucketPlanner.plan(List.of(
                tensor("byte", DType.U8, 1),
                tensor("empty", DType.F32, 4, 0),
                tensor("scalar", DType.F64)),
                64);
        BucketPlan.Bucket bucket = plan.buckets().get(0);
        assertThat(bucket.slots().get(1).start()).isEqualTo(4).isEqualTo(bucket.slots().get(1).end());
        assertThat(bucket.slots().get(2).start()).isEqualTo(8);
        assertThat(bucket.slots().get(2).end()).isEqualTo(16);
        assertThat(bucket.slots().get(2).tensor().numel()).isEqualTo(1);
    }

    @Test
    void aVersionOfOnlyEmptyTensorsIsOneEmptyBucket() {
        BucketPlan plan = BucketPlanner.plan(List.of(tensor("e1", DType.BF16, 0), tensor("e2", DType.I64, 3, 0)), 8);
        assertThat(plan.buckets()).hasSize(1);
        assertThat(plan.totalBytes()).isZero();
        assertThat(plan.tensorCount()).isEqualTo(2);
    }

    @Test
    void rejectsBadInputBeforePlanning() {
        assertThatThrownBy(() -> BucketPlanner.plan(List.of(), 64)).hasMessageContaining("no tensors");
        assertThatThrownBy(() -> BucketPlanner.plan(List.of(tensor("a", DType.U8, 1)), 12))
                .hasMessageContaining("bucket size 12 must be a positive multiple of 8");
        assertThatThrownBy(() -> BucketPlanner.plan(List.of(tensor("a", DType.U8, 1), tensor("a", DType.U8, 2)), 64))
                .hasMessageContaining("tensor a is given twice");
    }

    @Test
    void tensorSourcesCheckTheirBytesAgainstShapeAndDtype() {
        assertThatThrownBy(() -> TensorSource.ofBytes("w", DType.BF16, new long[] {2, 3}, new byte[10]))
                .hasMessageContaining("tensor w: 10 bytes given, shape and dtype BF16 need 12");
        assertThatThrownBy(() -> TensorSource.ofBytes("w", DType.BF16, new long[] {-1}, new byte[0]))
                .hasMessageContaining("negative dimension");
        assertThatThrownBy(() -> TensorSource.ofBytes("w", DType.F64, new long[] {1L << 40, 1L << 30}, new byte[0]))
                .hasMessageContaining("overflows");
    }

    @Test
    void dtypesCarrySafetensorsNamesAndItemSizes() {
        assertThat(DType.parse("bf16")).isEqualTo(DType.BF16);
        assertThat(DType.fromSafetensorsName("F8_E5M2")).contains(DType.F8_E5M2);
        assertThat(DType.fromSafetensorsName("bf16")).isEmpty();
        assertThat(DType.F8_E4M3.itemSize()).isEqualTo(1);
        assertThat(DType.I64.itemSize()).isEqualTo(DType.MAX_ITEM_SIZE);
        assertThatThrownBy(() -> DType.parse("F12")).hasMessageContaining("unknown dtype 'F12'");
    }
}
