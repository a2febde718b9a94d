package io.weightpub.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ResultsTest {

    @Test
    void csvQuotesFieldsWithCommasQuotesAndLineBreaks() {
        List<String> fields = List.of("plain", "a,b", "say \"hi\"", "two\nlines", "");
        assertThat(Csv.parse(Csv.line(fields) + "\n")).containsExactly(fields);
    }

    @Test
    void measurementsAndEnvironmentRoundTripThroughTheFolder(@TempDir Path dir) throws Exception {
        Results.write(dir, "e2e", List.of(
                new Measurement("e2e", "1GiB/1w", 1, "job_mbps", 300.5, "MB/s"),
                new Measurement("e2e", "1GiB/1w", 0, "job_mbps", 280.25, "MB/s"),
                new Measurement("e2e", "1GiB/3w", 0, "job_mbps", 120, "MB/s")));
        Results.writeEnvironment(dir, "e2e", Map.of("cpu", "Xeon, 2 cores"));

        Results r = Results.read(dir);
        assertThat(r.cases("e2e")).containsExactly("1GiB/1w", "1GiB/3w");
        assertThat(r.values("e2e", "1GiB/1w", "job_mbps")).containsExactly(280.25, 300.5);
        assertThat(r.median("e2e", "1GiB/1w", "job_mbps")).isEqualTo(290.375);
        assertThat(r.unit("e2e", "job_mbps")).contains("MB/s");
        assertThat(r.environments().get("e2e")).containsEntry("cpu", "Xeon, 2 cores");
    }
}
