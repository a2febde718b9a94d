package io.weightpub.publisher.internal;

import org.apache.flink.annotation.Internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a version's buckets into contiguous shares of about equal bytes, one per producer (or
 * trainer rank). A bucket is never split: its SHA-256 is computed over its bytes in order, by the
 * one thread that sends it. So a version of fewer buckets than shares leaves shares empty, and
 * the parallelism of a publish is at most its bucket count.
 */
@Internal
public final class Shares {

    /** Buckets {@code [fromBucket, toBucket)}, {@code bytes} in all; empty when from == to. */
    public record Share(int index, int fromBucket, int toBucket, long bytes) {
        public boolean isEmpty() {
            return fromBucket == toBucket;
        }

        public boolean contains(int bucket) {
            return bucket >= fromBucket && bucket < toBucket;
        }
    }

    private Shares() {
    }

    /**
     * {@code count} contiguous shares of the buckets: share k ends at the first bucket boundary
     * where the bytes so far reach (k + 1) / count of the total (and takes at least one bucket
     * while buckets remain for the shares after it), so shares differ by at most about one bucket.
     */
    public static List<Share> split(long[] bucketSizes, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("shares must be at least 1, was " + count);
        }
        long total = 0;
        for (long size : bucketSizes) {
            total += size;
        }
        List<Share> shares = new ArrayList<>(count);
        int next = 0;
        long cumulative = 0;
        for (int k = 0; k < count; k++) {
            int from = next;
            long bytes = 0;
            if (k == count - 1) {
                next = bucketSizes.length;
            } else {
                // (k + 1) * total / count without overflowing for huge versions
                double target = (double) total * (k + 1) / count;
                int bucketsLeftForOthers = Math.min(bucketSizes.length - next, count - k - 1);
                while (next < bucketSizes.length - bucketsLeftForOthers
                        && (next == from || cumulative + bucketSizes[next] / 2.0 <= target)) {
                    cumulative += bucketSizes[next++];
                }
            }
            for (int b = from; b < next; b++) {
                bytes += bucketSizes[b];
            }
            if (k == count - 1) {
                cumulative = total;
            }
            shares.add(new Share(k, from, next, bytes));
        }
        return List.copyOf(shares);
    }
}
