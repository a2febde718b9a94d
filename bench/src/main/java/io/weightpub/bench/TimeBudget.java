package io.weightpub.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * A wall-clock budget for a benchmark: points that would start after it ran out are skipped and
 * listed, so a time-boxed run on a borrowed GPU host still ends with a report that says what it left out.
 */
public final class TimeBudget {

    private final long deadlineNanos;
    private final List<String> skipped = new ArrayList<>();

    private TimeBudget(long deadlineNanos) {
        this.deadlineNanos = deadlineNanos;
    }

    /** No limit when {@code seconds <= 0}. */
    public static TimeBudget seconds(long seconds) {
        return new TimeBudget(seconds <= 0 ? Long.MAX_VALUE : System.nanoTime() + seconds * 1_000_000_000L);
    }

    /** Whether {@code point} may start; if not, it is recorded as skipped. */
    public boolean allows(String point) {
        if (deadlineNanos == Long.MAX_VALUE || System.nanoTime() < deadlineNanos) {
            return true;
        }
        skipped.add(point);
        System.out.println("time budget spent: skipping " + point);
        return false;
    }

    public List<String> skipped() {
        return List.copyOf(skipped);
    }
}
