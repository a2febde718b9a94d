package io.weightpub.job.assembly;

import java.util.Arrays;

/**
 * The chunk indexes of a bucket seen so far, as sorted disjoint ranges: its size grows with the
 * chunks that arrived (one range while they arrive in order), never with the count a record claims.
 */
final class ChunkSet {

    /** start0, end0, start1, end1, ...: ranges [start, end), sorted, neither overlapping nor touching. */
    private int[] bounds;
    private int ranges;
    private int count;

    ChunkSet() {
        this(new int[2], 0, 0);
    }

    private ChunkSet(int[] bounds, int ranges, int count) {
        this.bounds = bounds;
        this.ranges = ranges;
        this.count = count;
    }

    /** Ranges as written by {@link #ranges()}: pairs of start and exclusive end, sorted and disjoint. */
    static ChunkSet ofRanges(int[] pairs) {
        int count = 0;
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            if (pairs[i] < 0 || pairs[i + 1] <= pairs[i] || (i > 0 && pairs[i] <= pairs[i - 1])) {
                throw new IllegalArgumentException("chunk ranges are not sorted and disjoint: " + Arrays.toString(pairs));
            }
            count += pairs[i + 1] - pairs[i];
        }
        return new ChunkSet(pairs.length == 0 ? new int[2] : pairs.clone(), pairs.length / 2, count);
    }

    /** The set of a bitmap (state written before chunk sets existed). */
    static ChunkSet ofBitmap(long[] words, int chunkCount) {
        ChunkSet set = new ChunkSet();
        for (int chunk = 0; chunk < chunkCount; chunk++) {
            if ((words[chunk >>> 6] & (1L << (chunk & 63))) != 0) {
                set.add(chunk);
            }
        }
        return set;
    }

    boolean contains(int chunk) {
        int range = rangesStartingAtOrBefore(chunk) - 1;
        return range >= 0 && chunk < bounds[2 * range + 1];
    }

    /** Adds a chunk not yet in the set. */
    void add(int chunk) {
        int after = rangesStartingAtOrBefore(chunk);
        boolean joinsLeft = after > 0 && bounds[2 * after - 1] == chunk;
        boolean joinsRight = after < ranges && bounds[2 * after] == chunk + 1;
        if (joinsLeft && joinsRight) {
            bounds[2 * after - 1] = bounds[2 * after + 1];
            System.arraycopy(bounds, 2 * after + 2, bounds, 2 * after, 2 * (ranges - after - 1));
            ranges--;
        } else if (joinsLeft) {
            bounds[2 * after - 1]++;
        } else if (joinsRight) {
            bounds[2 * after]--;
        } else {
            if (2 * ranges + 2 > bounds.length) {
                bounds = Arrays.copyOf(bounds, Math.max(4, bounds.length * 2));
            }
            System.arraycopy(bounds, 2 * after, bounds, 2 * after + 2, 2 * (ranges - after));
            bounds[2 * after] = chunk;
            bounds[2 * after + 1] = chunk + 1;
            ranges++;
        }
        count++;
    }

    int size() {
        return count;
    }

    /** The ranges as pairs of start and exclusive end. */
    int[] ranges() {
        return Arrays.copyOf(bounds, 2 * ranges);
    }

    private int rangesStartingAtOrBefore(int chunk) {
        int low = 0;
        int high = ranges;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (bounds[2 * mid] <= chunk) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low;
    }
}
