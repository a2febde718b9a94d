package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class StatsTest {

    @Test
    void medianOfOddAndEvenCountsIgnoringNaN() {
        assertThat(Stats.median(List.of(3.0, 1.0, 2.0))).isEqualTo(2.0);
        assertThat(Stats.median(List.of(4.0, 1.0, 3.0, 2.0))).isEqualTo(2.5);
        assertThat(Stats.median(List.of(Double.NaN, 5.0))).isEqualTo(5.0);
        assertThat(Stats.median(List.of())).isNaN();
    }

    @Test
    void ratioIsTheMedianOfPerRunRatiosNotTheRatioOfMedians() {
        // run 2 is slow for both sides: per-run ratios are 0.5, 0.5, 0.9
        List<Double> job = List.of(50.0, 10.0, 90.0);
        List<Double> consumer = List.of(100.0, 20.0, 100.0);
        assertThat(Stats.medianRatio(job, consumer)).isEqualTo(0.5);
        assertThat(Stats.median(job) / Stats.median(consumer)).isEqualTo(0.5);
        assertThat(Stats.medianRatio(List.of(1.0), List.of(0.0))).isNaN();
    }

    @Test
    void slopeOfALine() {
        assertThat(Stats.slope(new double[] {1, 2, 4}, new double[] {10, 12, 16})).isCloseTo(2.0, within(1e-9));
        assertThat(Stats.slope(new double[] {1}, new double[] {1})).isNaN();
        assertThat(Stats.slope(new double[] {2, 2}, new double[] {1, 3})).isNaN();
    }
}
