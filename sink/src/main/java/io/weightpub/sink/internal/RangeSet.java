package io.weightpub.sink.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Disjoint half-open ranges {@code [start, end)} of longs, merged as they touch. */
final class RangeSet {

    private final TreeMap<Long, Long> ranges = new TreeMap<>();

    void add(long start, long end) {
        if (end <= start) {
            return;
        }
        Map.Entry<Long, Long> before = ranges.floorEntry(start);
        if (before != null && before.getValue() >= start) {
            start = before.getKey();
            end = Math.max(end, before.getValue());
        }
        Map.Entry<Long, Long> after = ranges.ceilingEntry(start);
        while (after != null && after.getKey() <= end) {
            end = Math.max(end, after.getValue());
            ranges.remove(after.getKey());
            after = ranges.ceilingEntry(start);
        }
        ranges.put(start, end);
    }

    /** True if every value of {@code [start, end)} is in the set. */
    boolean covers(long start, long end) {
        if (end <= start) {
            return true;
        }
        Map.Entry<Long, Long> range = ranges.floorEntry(start);
        return range != null && range.getValue() >= end;
    }

    long covered() {
        long total = 0;
        for (Map.Entry<Long, Long> range : ranges.entrySet()) {
            total += range.getValue() - range.getKey();
        }
        return total;
    }

    /** The ranges in order, as {start, end} pairs. */
    List<long[]> toList() {
        List<long[]> out = new ArrayList<>(ranges.size());
        ranges.forEach((start, end) -> out.add(new long[] {start, end}));
        return out;
    }
}
