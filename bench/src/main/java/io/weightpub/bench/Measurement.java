package io.weightpub.bench;

import java.util.Objects;

/**
 * One measured number: benchmark, case (e.g. {@code 1GiB/3w}), run index (0-based; -1 for a value
 * that belongs to the case rather than to a run), metric, value and unit.
 */
public record Measurement(String bench, String caseName, int run, String metric, double value, String unit) {

    public Measurement {
        Objects.requireNonNull(bench, "bench");
        Objects.requireNonNull(caseName, "caseName");
        Objects.requireNonNull(metric, "metric");
        Objects.requireNonNull(unit, "unit");
    }
}
