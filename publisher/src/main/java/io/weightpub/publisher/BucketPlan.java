package io.weightpub.publisher;

import org.apache.flink.annotation.PublicEvolving;

import java.util.List;
import java.util.Objects;

/**
 * How a version's tensors are laid out in flattened buckets (SGLang's {@code FlattenedTensorBucket}
 * layout): inside a bucket tensors lie end to end, each starting at a multiple of its dtype's item
 * size; buckets lie end to end in the version, each padded to a multiple of
 * {@link DType#MAX_ITEM_SIZE} so that every tensor is aligned in the whole version too. Padding
 * bytes are zero. Build one with {@link BucketPlanner#plan}.
 */
@PublicEvolving
public record BucketPlan(List<Bucket> buckets, long totalBytes, long bucketSizeLimit) {

    public BucketPlan {
        buckets = List.copyOf(buckets);
    }

    /** Tensors in the order they were given to the planner. */
    public int tensorCount() {
        return buckets.stream().mapToInt(b -> b.slots().size()).sum();
    }

    /** One bucket: where it sits in the version, its size (padding included) and its tensors. */
    public record Bucket(int index, long offset, long sizeBytes, List<Slot> slots) {
        public Bucket {
            slots = List.copyOf(slots);
        }
    }

    /** One tensor inside a bucket: bytes {@code [start, end)} of the bucket (end exclusive). */
    public record Slot(TensorSource tensor, long start, long end) {
        public Slot {
            Objects.requireNonNull(tensor, "tensor");
            if (end - start != tensor.byteSize()) {
                throw new IllegalArgumentException("slot [" + start + ", " + end + ") of " + tensor
                        + " does not match its byte size");
            }
        }
    }
}
