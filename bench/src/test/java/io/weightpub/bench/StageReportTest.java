package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class StageReportTest {

    /** A GPU-host point where the network to the one worker halves what the checkers deliver. */
    private static Results gpu() {
        List<Measurement> m = new ArrayList<>();
        for (String c : List.of("16GiB/1w/p4", "16GiB/1w/p8")) {
            for (int run = 0; run < 2; run++) {
                m.add(new Measurement("e2e-gpu", c, run, "parallel_consumer_gbps", 5.0, "GB/s"));
                m.add(new Measurement("e2e-gpu", c, run, "single_consumer_gbps", 1.3, "GB/s"));
                m.add(new Measurement("e2e-gpu", c, run, "source_gbps", 4.6, "GB/s"));
                m.add(new Measurement("e2e-gpu", c, run, "checker_gbps", 4.4, "GB/s"));
                m.add(new Measurement("e2e-gpu", c, run, "network_gbps", 1.6, "GB/s"));
                m.add(new Measurement("e2e-gpu", c, run, "job_host_gbps", 1.5, "GB/s"));
                m.add(new Measurement("e2e-gpu", c, run, "job_gbps", 1.4, "GB/s"));
                m.add(new Measurement("e2e-gpu", c, run, "ratio_job_parallel_consumer", 0.28, "x"));
                m.add(new Measurement("e2e-gpu", c, run, "source_cores", 6, "cores"));
                m.add(new Measurement("e2e-gpu", c, run, "job_cores", 5, "cores"));
            }
        }
        return new Results(m, Map.of());
    }

    @Test
    void theLimitingStageIsTheOneWithTheLargestDropFromTheStageBeforeIt() {
        StageReport.Drop drop = StageReport.largestDrop(gpu(), "e2e-gpu", "16GiB/1w/p8");
        assertThat(drop.stage()).isEqualTo("network");
        assertThat(drop.from()).isEqualTo("checker");
        assertThat(drop.ratio()).isCloseTo(1.6 / 4.4, org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void stagesThatWereNotMeasuredAreSkippedWhenLookingForTheDrop() {
        List<Measurement> m = new ArrayList<>();
        m.add(new Measurement("e2e", "1GiB/1w/p2", 0, "parallel_consumer_gbps", 0.4, "GB/s"));
        m.add(new Measurement("e2e", "1GiB/1w/p2", 0, "source_gbps", 0.35, "GB/s"));
        m.add(new Measurement("e2e", "1GiB/1w/p2", 0, "job_gbps", 0.1, "GB/s"));
        StageReport.Drop drop = StageReport.largestDrop(new Results(m, Map.of()), "e2e", "1GiB/1w/p2");
        assertThat(drop.from()).isEqualTo("source");
        assertThat(drop.stage()).isEqualTo("job");
    }

    @Test
    void theTableHasARowPerPointWithEveryStageAndItsCoresAndTheMarkdownNamesTheLimitingStage() {
        Results r = gpu();
        Table t = StageReport.table(r, "e2e-gpu");
        assertThat(t.rows()).hasSize(2);
        assertThat(t.rows().get(0)).contains("16GiB/1w/p4", "5.00", "4.60", "4.40", "1.60", "1.50", "1.40",
                "checker → network 0.36×");
        assertThat(StageReport.markdown(r, "e2e-gpu")).contains("network", "checker → network");
        assertThat(StageReport.has(r, "e2e-gpu")).isTrue();
        assertThat(StageReport.has(new Results(List.of(), Map.of()), "e2e")).isFalse();
    }
}
