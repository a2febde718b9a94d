package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class GpuBenchTest {

    @Test
    void theSinkBenchmarksRowsBecomeStagingAndFlipMeasurements() {
        List<Measurement> m = GpuBench.fromStagingCsv(List.of("metric,value,unit",
                "device,NVIDIA H100 PCIe,",
                "version_bytes,2147483648,bytes",
                "raw_pinned_htod,54.100,GB/s",
                "store_staging_copy_threads_4,50.000,GB/s",
                "store_staging_ratio_copy_threads_4,0.924,x raw",
                "reader_reads_during_flips,1200,reads",
                "flip_p99,85.500,us"));
        assertThat(m).extracting(Measurement::caseName, Measurement::metric, Measurement::value).containsExactly(
                org.assertj.core.groups.Tuple.tuple("staging", "version_bytes", 2147483648.0),
                org.assertj.core.groups.Tuple.tuple("staging", "raw_pinned_htod", 54.1),
                org.assertj.core.groups.Tuple.tuple("staging", "store_staging_copy_threads_4", 50.0),
                org.assertj.core.groups.Tuple.tuple("staging", "store_staging_ratio_copy_threads_4", 0.924),
                org.assertj.core.groups.Tuple.tuple("flip", "reader_reads_during_flips", 1200.0),
                org.assertj.core.groups.Tuple.tuple("flip", "flip_p99", 85.5));
    }

    @Test
    void gpuResultsFillTheGpuTargets() {
        Results r = new Results(List.of(
                new Measurement("gpu", "staging", -1, "raw_pinned_htod", 54, "GB/s"),
                new Measurement("gpu", "staging", -1, "store_staging_copy_threads_1", 7, "GB/s"),
                new Measurement("gpu", "staging", -1, "store_staging_copy_threads_8", 50, "GB/s"),
                new Measurement("gpu", "flip", -1, "flip_p50", 20, "us"),
                new Measurement("gpu", "flip", -1, "flip_p99", 1500, "us"),
                new Measurement("gpu", "flip", -1, "flip_max", 3000, "us")), java.util.Map.of());
        List<Targets.Target> targets = Targets.targets(r);
        assertThat(targets).filteredOn(t -> t.benchmark().startsWith("GPU staging")).singleElement()
                .satisfies(t -> {
                    assertThat(t.benchmark()).contains("8 copy threads");
                    assertThat(t.ratio()).isEqualTo("0.93×");
                    assertThat(t.met()).isEqualTo("yes");
                });
        assertThat(targets).filteredOn(t -> t.benchmark().startsWith("flip latency")).singleElement()
                .satisfies(t -> assertThat(t.met()).contains("no"));
    }
}
