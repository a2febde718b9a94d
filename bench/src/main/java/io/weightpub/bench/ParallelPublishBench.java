package io.weightpub.bench;

import io.weightpub.publisher.PublishEncoder;
import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.TensorSource;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.schemas.WireCodec;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The publisher at 1, 2, 4, 8 producers against Kafka's ProducerPerformance run as the same number
 * of separate processes at once: records of an encoded chunk record's size (about 1 MiB), as many
 * in all as the publish has chunks, the publisher's own producer settings (idempotent, acks=all),
 * to a topic with the chunks topic's settings and partitions. The tools' throughput is the sum of
 * the processes' own rates (each measured from its first send to its last acknowledgement), which
 * favours the tool: its JVM start-up is not counted and the processes overlap only partly.
 * Writes publish-parallel.md and publish-parallel.png besides the CSV.
 */
public final class ParallelPublishBench {

    static final String BENCH = "publish-parallel";
    /**
     * Buckets are never split between producers, so the version is cut into 32 MiB buckets: a
     * 512 MiB version then has 16, two per producer at 8 producers.
     */
    static final long BUCKET_BYTES = 32L << 20;

    private final Broker broker;
    private final int runs;

    public ParallelPublishBench(Broker broker, int runs) {
        this.broker = broker;
        this.runs = runs;
    }

    public List<Measurement> run(long size, List<Integer> producerCounts, Path out) throws Exception {
        List<TensorSource> tensors = SyntheticModel.tensors(size, 1);
        PublishEncoder sample = PublishEncoder.builder().modelId("bench").step(1).tensors(tensors)
                .bucketSizeBytes(BUCKET_BYTES).build();
        int recordSize = WireCodec.CHUNK.encode(sample.chunks().next()).length;
        long records = sample.chunkCount();
        Map<String, String> producerProps = new PublisherBench(broker, 1).producerSettings();
        Topics topics = Topics.bundled();
        List<Measurement> measured = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            for (int n : producerCounts) {
                String c = Table.size(size) + "/p" + n;
                String prefix = "bench-pp-" + UUID.randomUUID().toString().substring(0, 8);
                topics.create(broker.bootstrap(), prefix);
                String perfTopic = prefix + ".perf";
                topics.createAs(broker.bootstrap(), "chunks", perfTopic);
                try {
                    double tools = producerPerformance(perfTopic, n, records, recordSize, producerProps);
                    PublishResult published;
                    try (WeightPublisher publisher = WeightPublisher.builder().bootstrapServers(broker.bootstrap())
                            .topicPrefix(prefix).producers(n).bucketSizeBytes(BUCKET_BYTES).build()) {
                        published = publisher.publish("bench", r + 1, SyntheticModel.tensors(size, 1));
                    }
                    double project = published.megabytesPerSecond();
                    measured.add(new Measurement(BENCH, c, r, "producer_perf_mbps", tools, "MB/s"));
                    measured.add(new Measurement(BENCH, c, r, "publisher_mbps", project, "MB/s"));
                    measured.add(new Measurement(BENCH, c, r, "ratio_publisher_producer", project / tools, "x"));
                    System.out.printf("publish-parallel %s run %d: %d x ProducerPerformance %.0f MB/s,"
                            + " publisher with %d producers %.0f MB/s = %.2fx%n", c, r + 1, n, tools, n, project,
                            project / tools);
                } finally {
                    List<String> names = new ArrayList<>(topics.names(prefix));
                    names.add(perfTopic);
                    Topics.delete(broker.bootstrap(), names);
                }
            }
        }
        String c0 = Table.size(size);
        measured.add(new Measurement(BENCH, c0, -1, "record_bytes", recordSize, "bytes"));
        measured.add(new Measurement(BENCH, c0, -1, "records", records, "records"));
        measured.add(new Measurement(BENCH, c0, -1, "buckets", sample.bucketCount(), "buckets"));
        measured.add(new Measurement(BENCH, c0, -1, "chunk_partitions", topics.spec("chunks").partitions(), "partitions"));
        report(out, size, producerCounts, measured, recordSize, sample.bucketCount(), topics.spec("chunks").partitions());
        return measured;
    }

    /** {@code processes} ProducerPerformance processes at once, sharing the records; the sum of their rates in MB/s. */
    private double producerPerformance(String topic, int processes, long records, int recordSize,
            Map<String, String> props) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(processes);
        try {
            List<Future<KafkaPerfTools.ProducerRun>> runs = new ArrayList<>();
            for (int p = 0; p < processes; p++) {
                long share = records / processes + (p < records % processes ? 1 : 0);
                runs.add(pool.submit(() -> KafkaPerfTools.produce(broker.bootstrap(), topic, share, recordSize, props)));
            }
            double recordsPerSecond = 0;
            for (Future<KafkaPerfTools.ProducerRun> run : runs) {
                recordsPerSecond += run.get().recordsPerSecond();
            }
            return recordsPerSecond * recordSize / 1e6;
        } finally {
            pool.shutdownNow();
        }
    }

    private static void report(Path out, long size, List<Integer> counts, List<Measurement> measured, int recordSize,
            int buckets, int partitions) throws Exception {
        Results results = new Results(measured, Map.of());
        double[] x = counts.stream().mapToDouble(Integer::doubleValue).toArray();
        double[] tools = new double[x.length];
        double[] publisher = new double[x.length];
        StringBuilder md = new StringBuilder("# Parallel publish: publisher vs ProducerPerformance processes\n\n")
                .append("Version ").append(Table.size(size)).append(" in ").append(buckets).append(" buckets of ")
                .append(Table.size(BUCKET_BYTES)).append(", records of ").append(recordSize).append(" bytes, chunks topic of ")
                .append(partitions).append(" partitions; medians over runs.\n\n")
                .append("| producers | ProducerPerformance processes, MB/s | publisher, MB/s | ratio |\n")
                .append("|---:|---:|---:|---:|\n");
        for (int i = 0; i < x.length; i++) {
            String c = Table.size(size) + "/p" + counts.get(i);
            tools[i] = results.median(BENCH, c, "producer_perf_mbps");
            publisher[i] = results.median(BENCH, c, "publisher_mbps");
            md.append("| ").append(counts.get(i)).append(" | ").append(Table.num(tools[i])).append(" | ")
                    .append(Table.num(publisher[i])).append(" | ")
                    .append(Table.ratio(results.median(BENCH, c, "ratio_publisher_producer"))).append(" |\n");
        }
        Files.createDirectories(out);
        try {
            Map<String, double[]> series = Plots.ordered();
            series.put("ProducerPerformance x N processes", tools);
            series.put("WeightPublisher, N producers", publisher);
            Plots.lines(out.resolve(BENCH + ".png"), "Publish throughput, " + Table.size(size), "producers (N)",
                    "MB/s", x, series, Map.of(), "");
            md.append("\n![throughput](").append(BENCH).append(".png)\n");
        } catch (Throwable e) { // no AWT in a trimmed JRE: the table still stands
            md.append("\nNo plot: ").append(e).append('\n');
        }
        Files.writeString(out.resolve(BENCH + ".md"), md.toString(), StandardCharsets.UTF_8);
    }
}
