package io.weightpub.bench;

import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/** Medians and ratios. Benchmarks quote medians over runs; ratios are taken within one run. */
public final class Stats {

    private Stats() {}

    /** The median (mean of the two middle values for an even count); NaN for none. */
    public static double median(Collection<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).filter(v -> !Double.isNaN(v)).sorted()
                .toArray();
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public static double min(Collection<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }

    public static double max(Collection<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    /**
     * The median of per-run ratios {@code project[i] / ceiling[i]}: each ratio compares two numbers
     * of the same run, so slow phases of a noisy machine cancel out.
     */
    public static double medianRatio(List<Double> project, List<Double> ceiling) {
        if (project.size() != ceiling.size()) {
            throw new IllegalArgumentException(project.size() + " project runs but " + ceiling.size() + " ceiling runs");
        }
        Double[] ratios = new Double[project.size()];
        for (int i = 0; i < ratios.length; i++) {
            ratios[i] = ceiling.get(i) > 0 ? project.get(i) / ceiling.get(i) : Double.NaN;
        }
        return median(Arrays.asList(ratios));
    }

    /** Least-squares slope of y over x; NaN with fewer than two distinct x. */
    public static double slope(double[] x, double[] y) {
        if (x.length != y.length || x.length < 2) {
            return Double.NaN;
        }
        double mx = Arrays.stream(x).average().orElse(0);
        double my = Arrays.stream(y).average().orElse(0);
        double num = 0;
        double den = 0;
        for (int i = 0; i < x.length; i++) {
            num += (x[i] - mx) * (y[i] - my);
            den += (x[i] - mx) * (x[i] - mx);
        }
        return den == 0 ? Double.NaN : num / den;
    }
}
