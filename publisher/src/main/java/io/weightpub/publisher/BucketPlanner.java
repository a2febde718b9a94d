package io.weightpub.publisher;

import org.apache.flink.annotation.PublicEvolving;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Packs tensors, in the given order, into flattened buckets of at most a given size. A tensor
 * starts a new bucket when it does not fit after the current bucket's bytes; a tensor larger than
 * the bucket size gets a bucket of its own. Empty tensors (numel 0) take no bytes and never start
 * a bucket; scalars (shape []) take one item.
 */
@PublicEvolving
public final class BucketPlanner {

    /** 512 MiB, the default bucket size of SGLang's weight updates. */
    public static final long DEFAULT_BUCKET_SIZE = 512L << 20;

    private BucketPlanner() {
    }

    /**
     * @param bucketSizeBytes a positive multiple of {@link DType#MAX_ITEM_SIZE}, so that padding a
     *     bucket to that alignment never makes it exceed the limit
     */
    public static BucketPlan plan(List<? extends TensorSource> tensors, long bucketSizeBytes) {
        checkBucketSize(bucketSizeBytes);
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("no tensors to publish");
        }
        Set<String> names = new HashSet<>();
        List<BucketPlan.Bucket> buckets = new ArrayList<>();
        List<BucketPlan.Slot> slots = new ArrayList<>();
        long used = 0; // bytes of the open bucket, before end padding
        long versionOffset = 0;
        for (TensorSource tensor : tensors) {
            if (!names.add(tensor.name())) {
                throw new IllegalArgumentException("tensor " + tensor.name() + " is given twice");
            }
            long start = alignUp(used, tensor.dtype().itemSize());
            boolean fits = tensor.byteSize() == 0 || start + tensor.byteSize() <= bucketSizeBytes;
            // A bucket holding bytes is closed when the tensor does not fit; an oversized tensor
            // then lands in a fresh bucket alone, because the next tensor will not fit after it.
            if (!fits && used > 0) {
                BucketPlan.Bucket closed = close(buckets.size(), versionOffset, used, slots);
                buckets.add(closed);
                versionOffset += closed.sizeBytes();
                slots = new ArrayList<>();
                used = 0;
                start = 0;
            }
            slots.add(new BucketPlan.Slot(tensor, start, start + tensor.byteSize()));
            used = start + tensor.byteSize();
        }
        BucketPlan.Bucket last = close(buckets.size(), versionOffset, used, slots);
        buckets.add(last);
        return new BucketPlan(buckets, versionOffset + last.sizeBytes(), bucketSizeBytes);
    }

    static void checkBucketSize(long bucketSizeBytes) {
        if (bucketSizeBytes <= 0 || bucketSizeBytes % DType.MAX_ITEM_SIZE != 0) {
            throw new IllegalArgumentException("bucket size " + bucketSizeBytes
                    + " must be a positive multiple of " + DType.MAX_ITEM_SIZE + " bytes");
        }
    }

    private static BucketPlan.Bucket close(int index, long offset, long used, List<BucketPlan.Slot> slots) {
        return new BucketPlan.Bucket(index, offset, alignUp(used, DType.MAX_ITEM_SIZE), slots);
    }

    static long alignUp(long value, int alignment) {
        long rest = value % alignment;
        return rest == 0 ? value : value + alignment - rest;
    }
}
