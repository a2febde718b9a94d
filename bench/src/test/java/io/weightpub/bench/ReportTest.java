package io.weightpub.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ReportTest {

    static final long GIB = 1L << 30;

    /** A results folder as the benchmarks write it, with made-up but consistent numbers. */
    static void sampleResults(Path dir) throws Exception {
        List<Measurement> e2e = new ArrayList<>();
        double[][] runs = {{800, 300, 720}, {700, 280, 650}, {820, 310, 700}}; // consumer, floor, job
        for (int r = 0; r < runs.length; r++) {
            double c = runs[r][0];
            double f = runs[r][1];
            double j = runs[r][2];
            e2e.add(new Measurement("e2e", "1GiB/1w", r, "consumer_mbps", c, "MB/s"));
            e2e.add(new Measurement("e2e", "1GiB/1w", r, "floor_mbps", f, "MB/s"));
            e2e.add(new Measurement("e2e", "1GiB/1w", r, "job_mbps", j, "MB/s"));
            e2e.add(new Measurement("e2e", "1GiB/1w", r, "job_wall_mbps", j / 2, "MB/s"));
            e2e.add(new Measurement("e2e", "1GiB/1w", r, "ratio_job_consumer", j / c, "x"));
            e2e.add(new Measurement("e2e", "1GiB/1w", r, "ratio_floor_consumer", f / c, "x"));
            e2e.add(new Measurement("e2e", "1GiB/1w", r, "ratio_job_floor", j / f, "x"));
            e2e.add(new Measurement("e2e", "1GiB/3w", r, "consumer_mbps", c, "MB/s"));
            e2e.add(new Measurement("e2e", "1GiB/3w", r, "floor_mbps", f, "MB/s"));
            e2e.add(new Measurement("e2e", "1GiB/3w", r, "job_mbps", j / 4, "MB/s"));
            e2e.add(new Measurement("e2e", "1GiB/3w", r, "ratio_job_consumer", j / 4 / c, "x"));
            e2e.add(new Measurement("e2e", "1GiB/3w", r, "ratio_floor_consumer", f / c, "x"));
        }
        e2e.add(new Measurement("e2e", "16GiB/1w", -1, "skipped_needs_bytes", 35 * GIB, "bytes"));
        Results.write(dir, "e2e", e2e);
        Results.writeEnvironment(dir, "e2e", Map.of("cores", "2", "note", "shared machine"));

        List<Measurement> stages = new ArrayList<>();
        Map<String, Double> ns = Map.of("chunkParse", 0.2, "crc32c", 0.02, "assembler", 0.3, "eventSerde", 0.25,
                "slotCopy", 0.1, "slotFirstTouch", 0.4, "sha256", 0.6);
        ns.forEach((s, v) -> stages.add(new Measurement("stages", s, -1, "ns_per_byte", v, "ns/B")));
        stages.add(new Measurement("stages", "kafkaFetch", 0, "ns_per_byte", 1.3, "ns/B"));
        Results.write(dir, "stages", stages);

        List<Measurement> memory = new ArrayList<>();
        long[] sizes = {256L << 20, GIB, 4 * GIB};
        for (long s : sizes) {
            String c = Table.size(s);
            memory.add(new Measurement("memory", c, 0, "bytes", s, "bytes"));
            memory.add(new Measurement("memory", c, 0, "heap_live_max", 60e6 + s * 0.001, "bytes"));
            memory.add(new Measurement("memory", c, 0, "heap_max_used", 400e6, "bytes"));
            memory.add(new Measurement("memory", c, 0, "state_max", 30_000, "bytes"));
            memory.add(new Measurement("memory", c, 0, "slot_bytes", s, "bytes"));
        }
        Results.write(dir, "memory", memory);
        Results.write(dir, "publisher", List.of(
                new Measurement("publisher", "1GiB", 0, "producer_perf_mbps", 200, "MB/s"),
                new Measurement("publisher", "1GiB", 0, "publisher_mbps", 150, "MB/s"),
                new Measurement("publisher", "1GiB", 0, "ratio_publisher_producer", 0.75, "x")));
    }

    @Test
    void targetsAreJudgedOnMediansOfPerRunRatios(@TempDir Path dir) throws Exception {
        sampleResults(dir);
        List<Targets.Target> targets = Targets.targets(Results.read(dir));
        Targets.Target oneWorker = targets.stream().filter(t -> t.benchmark().endsWith("1GiB/1w")).findFirst()
                .orElseThrow();
        // per-run ratios 0.90, 0.929, 0.854 -> median 0.90
        assertThat(oneWorker.ratio()).isEqualTo("0.90×");
        assertThat(oneWorker.met()).isEqualTo("yes");
        assertThat(targets.stream().filter(t -> t.benchmark().endsWith("1GiB/3w")).findFirst().orElseThrow().met())
                .contains("no");
        assertThat(targets.stream().filter(t -> t.benchmark().endsWith("16GiB/1w")).findFirst().orElseThrow().met())
                .contains("skipped").contains("35GiB");
        assertThat(targets).filteredOn(t -> t.benchmark().startsWith("job heap")).singleElement()
                .satisfies(t -> assertThat(t.met()).isEqualTo("yes"));
        assertThat(targets).filteredOn(t -> t.benchmark().startsWith("GPU staging")).singleElement()
                .satisfies(t -> assertThat(t.met()).startsWith("pending"));
    }

    @Test
    void writesTheReportSummaryAndReadablePlots(@TempDir Path dir) throws Exception {
        sampleResults(dir);
        Report.write(dir);

        String md = Files.readString(dir.resolve("report.md"));
        assertThat(md).contains("## Targets", "| benchmark | ceiling | project | ratio | target | met? |",
                "> **e2e**: shared machine", "![End to end", "## Where the time goes", "## Memory", "## Publisher",
                "## Rollback and recovery", "Pending.");
        // the missed 3-worker target is explained, with the largest extra stage first
        assertThat(md).contains("### e2e 1GiB/3w").contains("What would close it")
                .contains("SHA-256 digest (per worker): SHA-256 is paid once per worker");
        assertThat(md).doesNotContain("### e2e 1GiB/1w");
        assertThat(Files.readAllLines(dir.resolve("summary.csv")).get(0))
                .isEqualTo("bench,case,metric,median,min,max,n,unit");
        for (String png : List.of("e2e.png", "stages.png", "memory.png", "publisher.png")) {
            byte[] bytes = Files.readAllBytes(dir.resolve(png));
            assertThat(bytes).as(png).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
        }
    }
}
