package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class CurveReportTest {

    private static Results results() {
        List<Measurement> m = new ArrayList<>();
        double[][] jobByRun = {{0.30, 0.32, 0.28}, {0.50, 0.55, 0.45}};
        int[] ps = {1, 4};
        for (int i = 0; i < ps.length; i++) {
            String c = "1GiB/1w/p" + ps[i];
            for (int run = 0; run < 3; run++) {
                m.add(new Measurement("e2e", c, run, "job_gbps", jobByRun[i][run], "GB/s"));
                m.add(new Measurement("e2e", c, run, "parallel_consumer_gbps", 1.0, "GB/s"));
                m.add(new Measurement("e2e", c, run, "single_consumer_gbps", 0.5, "GB/s"));
                m.add(new Measurement("e2e", c, run, "ratio_job_parallel_consumer", jobByRun[i][run], "x"));
                m.add(new Measurement("e2e", c, run, "job_cores", 1.5, "cores"));
            }
        }
        m.add(new Measurement("e2e", "1GiB/2w/p4", 0, "last_record_to_active_ms", 900, "ms"));
        m.add(new Measurement("e2e", "budget", -1, "skipped: e2e 4GiB run 3", 1, "point"));
        return new Results(m, Map.of());
    }

    @Test
    void theBestParallelismOfASizeIsItsTargetAndAMissIsExplainedWithTheCurve() {
        Results r = results();
        assertThat(CurveReport.isCurve(r, "e2e")).isTrue();
        assertThat(CurveReport.bestPerSize(r, "e2e")).containsEntry("1GiB", "1GiB/1w/p4");
        List<Targets.Target> targets = CurveReport.targets(r, "e2e");
        assertThat(targets).singleElement().satisfies(t -> {
            assertThat(t.ratio()).isEqualTo(Table.ratio(0.50));
            assertThat(t.met()).contains("no");
        });
        assertThat(CurveReport.why(r, "e2e")).contains("1GiB/1w/p1", "1GiB/1w/p4", "1.5");
    }

    @Test
    void theCostModelsWorkerCountsReadCurveCasesAndIgnoreCasesWithoutWorkers() {
        assertThat(ReportMarkdown.workerCounts(results())).containsExactly(1, 2);
    }

    @Test
    void theTablesGiveMediansWithTheirSpreadAndTheReportListsSkippedPoints() {
        Results r = results();
        assertThat(CurveReport.curveTable(r, "e2e").rows()).hasSize(2);
        assertThat(CurveReport.curveTable(r, "e2e").rows().get(1)).contains("0.500 [0.450–0.550]", "1.00");
        assertThat(CurveReport.latencyTable(r, "e2e").rows()).singleElement()
                .satisfies(row -> assertThat(row).contains("1GiB/2w/p4", "900"));
        assertThat(CurveReport.skipped(r, "e2e")).containsExactly("e2e 4GiB run 3");
        assertThat(CurveReport.markdown(r, "e2e", List.of("e2e-curve-1gib.png")))
                .contains("Skipped when the time budget ran out", "e2e-curve-1gib.png");
    }
}
