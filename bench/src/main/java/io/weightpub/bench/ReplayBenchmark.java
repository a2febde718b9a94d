package io.weightpub.bench;

import io.weightpub.events.WeightEvent;
import io.weightpub.sink.CommitMode;
import io.weightpub.sink.WeightSink;
import io.weightpub.sink.internal.KafkaChunkReader;
import io.weightpub.sink.internal.WeightSinkWriter;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.VerifyResult;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.testutils.EmbeddedKafka;
import io.weightpub.testutils.KafkaVersions;
import io.weightpub.testutils.TestVersion;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.function.UnaryOperator;

/**
 * Rollback and replay benchmark on an in-process Kafka broker, in one run:
 *
 * <ul>
 *   <li>replay throughput: the sink's reader re-reading a version's chunk range from Kafka into a
 *       staged host slot (CRC32C checked, each payload copied once, into the slot), against a raw
 *       {@code KafkaConsumer} reading the same range with the same fetch settings, rounds alternated;
 *       the ratio is the goal (≥ 0.8); verification (SHA-256 of every bucket) is timed apart;</li>
 *   <li>rollback latency to a resident version: the sink writer handling a rollback's commit event
 *       (decode, resident stage, flip, status) in IMMEDIATE mode, alternating between two retired
 *       versions, p50/p99/max (goal p99 &lt; 10 ms).</li>
 * </ul>
 *
 * <p>Arguments: {@code outDir [versionMiB=256] [chunkKiB=1024] [partitions=3] [rounds=3] [rollbacks=2000]}.
 * Writes {@code replay-rollback.csv} and {@code replay-rollback.md} to {@code outDir}.
 */
public final class ReplayBenchmark {

    private static final String MODEL = "bench";

    private ReplayBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            throw new IllegalArgumentException(
                    "usage: ReplayBenchmark outDir [versionMiB] [chunkKiB] [partitions] [rounds] [rollbacks]");
        }
        Path out = Path.of(args[0]);
        int versionMiB = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int chunkBytes = (args.length > 2 ? Integer.parseInt(args[2]) : 1024) * 1024;
        int partitions = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        int rollbacks = args.length > 5 ? Integer.parseInt(args[5]) : 2000;
        int bucketBytes = chunkBytes * 16;
        int buckets = Math.max(1, versionMiB * (1 << 20) / bucketBytes);

        List<String[]> rows = new ArrayList<>();
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            String topic = "bench.chunks";
            kafka.createTopic(topic, partitions, Map.of("max.message.bytes", String.valueOf(chunkBytes + 4096)));
            KafkaVersions.Published published;
            TestVersion version = TestVersion.of(MODEL, 1, buckets, bucketBytes);
            try (KafkaVersions versions = new KafkaVersions(kafka.bootstrapServers(), topic, partitions)) {
                published = versions.publish(version, bucketBytes, chunkBytes, UnaryOperator.identity(), false);
            }
            Properties consumer = consumerProperties(kafka.bootstrapServers());
            KafkaChunkReader reader = new KafkaChunkReader(consumer, Duration.ofSeconds(30));
            System.out.printf(Locale.ROOT, "version: %d bytes in %d chunks of %d bytes over %d partitions%n",
                    version.size(), published.chunks().size(), chunkBytes, partitions);

            rawConsumer(consumer, published); // warm-up: page cache, JIT
            replay(reader, published, version);
            double[] raw = new double[rounds];
            double[] replay = new double[rounds];
            long verifyNanos = 0;
            for (int r = 0; r < rounds; r++) {
                raw[r] = rawConsumer(consumer, published);
                long[] replayed = replay(reader, published, version);
                replay[r] = version.size() / 1e6 / (replayed[0] / 1e9);
                verifyNanos = Math.max(verifyNanos, replayed[1]);
                System.out.printf(Locale.ROOT, "round %d: raw consumer %.0f MB/s, replay into slot %.0f MB/s%n", r,
                        raw[r], replay[r]);
            }
            double rawMedian = median(raw);
            double replayMedian = median(replay);
            rows.add(row("raw_consumer_MBps", rawMedian, "MB/s (median of " + rounds + ")"));
            rows.add(row("replay_into_slot_MBps", replayMedian, "MB/s (median of " + rounds + ")"));
            rows.add(row("replay_to_raw_ratio", replayMedian / rawMedian, "goal >= 0.8"));
            rows.add(row("verify_sha256_MBps", version.size() / 1e6 / (verifyNanos / 1e9),
                    "MB/s (slowest round, " + WeightStoreConfig.builder().build().verifyThreads() + " threads)"));

            double[] latencies = residentRollbacks(kafka, rollbacks);
            rows.add(row("resident_rollback_p50_ms", percentile(latencies, 50), "ms, " + rollbacks + " rollbacks"));
            rows.add(row("resident_rollback_p99_ms", percentile(latencies, 99), "ms, goal < 10"));
            rows.add(row("resident_rollback_max_ms", percentile(latencies, 100), "ms"));
        }
        write(out, rows, versionMiB, chunkBytes, partitions);
    }

    private static Properties consumerProperties(String bootstrapServers) {
        WeightSink sink = WeightSink.builder().bootstrapServers(bootstrapServers).build();
        return sink.replayConsumerProperties().orElseThrow();
    }

    /** A plain consumer over the same ranges and settings, counting value bytes; MB/s. */
    private static double rawConsumer(Properties props, KafkaVersions.Published published) {
        Properties settings = new Properties();
        settings.putAll(props);
        settings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        long start = System.nanoTime();
        long bytes = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(settings, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            Map<TopicPartition, Long> last = new HashMap<>();
            published.ranges().forEach(r -> last.put(new TopicPartition(r.getTopic(), r.getPartition()),
                    r.getLastOffset()));
            consumer.assign(last.keySet());
            published.ranges().forEach(r -> consumer.seek(new TopicPartition(r.getTopic(), r.getPartition()),
                    r.getFirstOffset()));
            while (!last.isEmpty()) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    Long end = last.get(new TopicPartition(record.topic(), record.partition()));
                    if (end != null && record.offset() <= end) {
                        bytes += record.value().length;
                    }
                }
                last.keySet().removeIf(tp -> consumer.position(tp) > last.get(tp));
            }
        }
        return bytes / 1e6 / ((System.nanoTime() - start) / 1e9);
    }

    /** Re-reads the version into a staged slot; returns {read nanos, verify nanos}. */
    private static long[] replay(KafkaChunkReader reader, KafkaVersions.Published published, TestVersion version)
            throws Exception {
        try (WeightStore store = WeightStore.open(WeightStoreConfig.builder().backend(StoreBackend.HOST).build(), 0)) {
            long start = System.nanoTime();
            try (KafkaChunkReader.Replay replay = reader.open(MODEL, version.publishId(), version.size(),
                    published.ranges())) {
                store.stage(MODEL, version.publishId(), version.step(), version.size());
                replay.readInto((chunk, partition, offset) -> store.write(MODEL, version.publishId(),
                        chunk.versionOffset(), chunk.payload(), chunk.payloadOffset(), chunk.payloadLength()));
            }
            long read = System.nanoTime() - start;
            VerifyResult result = store.verify(MODEL, version.publishId(), version.manifest());
            if (!result.ok()) {
                throw new IllegalStateException("replayed bytes do not verify: " + result.describe());
            }
            return new long[] {read, result.durationNanos()};
        }
    }

    /** Milliseconds per rollback commit event handled by the writer, alternating two resident versions. */
    private static double[] residentRollbacks(EmbeddedKafka kafka, int rollbacks) throws Exception {
        String name = "bench-rollback";
        String topic = name + ".chunks";
        kafka.createTopic(topic, 1, Map.of());
        int bucketBytes = 1 << 20;
        WeightSink sink = WeightSink.builder().name(name).backend(StoreBackend.HOST).commitMode(CommitMode.IMMEDIATE)
                .bootstrapServers(kafka.bootstrapServers()).build();
        try (KafkaVersions versions = new KafkaVersions(kafka.bootstrapServers(), topic, 1)) {
            KafkaVersions.Published a = versions.publish(TestVersion.of(MODEL, 1, 16, bucketBytes), bucketBytes,
                    bucketBytes / 4, UnaryOperator.identity(), false);
            KafkaVersions.Published b = versions.publish(TestVersion.of(MODEL, 2, 16, bucketBytes), bucketBytes,
                    bucketBytes / 4, UnaryOperator.identity(), false);
            WeightSinkWriter writer = new WeightSinkWriter(sink.workerSettings(), 0, OptionalLong.empty(), List.of(),
                UnregisteredMetricsGroup.createSinkWriterMetricGroup());
            for (KafkaVersions.Published p : List.of(a, b)) {
                p.chunks().forEach(chunk -> writer.write(chunk, null));
                writer.write(p.commit(p.version().version(), p.version().version()), null);
            }
            WeightStore store = WeightSink.store(name, 0).orElseThrow();
            double[] millis = new double[rollbacks];
            long version = 3;
            for (int i = 0; i < rollbacks; i++) {
                KafkaVersions.Published target = i % 2 == 0 ? a : b;
                WeightEvent rollback = target.commit(version, target.version().version());
                long start = System.nanoTime();
                writer.write(rollback, null);
                millis[i] = (System.nanoTime() - start) / 1e6;
                if (store.status(MODEL).active().orElseThrow().version() != version) {
                    throw new IllegalStateException("rollback " + i + " to version " + target.version().version()
                            + " did not become active as version " + version);
                }
                version++;
            }
            writer.close();
            return millis;
        } finally {
            WeightSink.release(name);
        }
    }

    private static double median(double[] values) {
        return percentile(values, 50);
    }

    private static double percentile(double[] values, double p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static String[] row(String metric, double value, String note) {
        return new String[] {metric, String.format(Locale.ROOT, "%.3f", value), note};
    }

    private static void write(Path out, List<String[]> rows, int versionMiB, int chunkBytes, int partitions)
            throws IOException {
        Files.createDirectories(out);
        StringBuilder csv = new StringBuilder("metric,value,note\n");
        StringBuilder md = new StringBuilder("# Replay and rollback\n\nVersion " + versionMiB + " MiB, chunks of "
                + chunkBytes + " bytes, " + partitions + " partitions, in-process Kafka on "
                + Runtime.getRuntime().availableProcessors() + " cores.\n\n| metric | value | note |\n|---|---|---|\n");
        for (String[] row : rows) {
            csv.append(String.join(",", row[0], row[1], "\"" + row[2] + "\"")).append('\n');
            md.append("| ").append(row[0]).append(" | ").append(row[1]).append(" | ").append(row[2]).append(" |\n");
            System.out.println(row[0] + " = " + row[1] + " (" + row[2] + ")");
        }
        Files.writeString(out.resolve("replay-rollback.csv"), csv);
        Files.writeString(out.resolve("replay-rollback.md"), md);
    }
}
