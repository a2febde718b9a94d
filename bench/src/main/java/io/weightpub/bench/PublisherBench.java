package io.weightpub.bench;

import io.weightpub.publisher.PublishEncoder;
import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.schemas.WireCodec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The publisher against Kafka's ProducerPerformance on the same broker: records of the size of an
 * encoded chunk record, as many as the publish has chunks, the publisher's own producer settings,
 * to a topic with the chunks topic's settings. Each run brackets the publish with two tool runs.
 */
public final class PublisherBench {

    static final String BENCH = "publisher";
    /** Producer settings that are not the tool's business (it sets its own serializers and servers). */
    private static final Set<String> NOT_PASSED = Set.of("bootstrap.servers", "key.serializer", "value.serializer",
            "transactional.id", "client.id");

    private final Broker broker;
    private final int runs;

    public PublisherBench(Broker broker, int runs) {
        this.broker = broker;
        this.runs = runs;
    }

    public List<Measurement> run(List<Long> sizes) throws Exception {
        List<Measurement> out = new ArrayList<>();
        for (long size : sizes) {
            String c = Table.size(size);
            PublishEncoder sample = PublishEncoder.builder().modelId("bench").step(1)
                    .tensors(SyntheticModel.tensors(size, 1)).build();
            int recordSize = WireCodec.CHUNK.encode(sample.chunks().next()).length;
            long records = sample.chunkCount();
            Map<String, String> producerProps = producerSettings();
            for (int r = 0; r < runs; r++) {
                String prefix = "bench-pub-" + UUID.randomUUID().toString().substring(0, 8);
                Topics topics = Topics.bundled();
                topics.create(broker.bootstrap(), prefix);
                String perfTopic = prefix + ".perf";
                topics.createAs(broker.bootstrap(), "chunks", perfTopic);
                try {
                    KafkaPerfTools.ProducerRun before = KafkaPerfTools.produce(broker.bootstrap(), perfTopic, records,
                            recordSize, producerProps);
                    PublishResult published = SyntheticModel.publish(broker.bootstrap(), prefix, "bench", r + 1, size);
                    KafkaPerfTools.ProducerRun after = KafkaPerfTools.produce(broker.bootstrap(), perfTopic, records,
                            recordSize, producerProps);
                    double ceiling = (before.recordsPerSecond() + after.recordsPerSecond()) / 2 * recordSize / 1e6;
                    double project = published.megabytesPerSecond();
                    out.add(new Measurement(BENCH, c, r, "producer_perf_mbps", ceiling, "MB/s"));
                    out.add(new Measurement(BENCH, c, r, "publisher_mbps", project, "MB/s"));
                    out.add(new Measurement(BENCH, c, r, "ratio_publisher_producer", project / ceiling, "x"));
                    out.add(new Measurement(BENCH, c, r, "producer_perf_avg_latency_ms",
                            (before.avgLatencyMs() + after.avgLatencyMs()) / 2, "ms"));
                    System.out.printf("publisher %s run %d: ProducerPerformance %.0f MB/s, publisher %.0f MB/s = %.2fx%n",
                            c, r + 1, ceiling, project, project / ceiling);
                } finally {
                    List<String> names = new ArrayList<>(topics.names(prefix));
                    names.add(perfTopic);
                    Topics.delete(broker.bootstrap(), names);
                }
            }
            out.add(new Measurement(BENCH, c, -1, "record_bytes", recordSize, "bytes"));
            out.add(new Measurement(BENCH, c, -1, "records", records, "records"));
        }
        return out;
    }

    /** The producer settings the publisher uses, as strings for ProducerPerformance. */
    Map<String, String> producerSettings() {
        Map<String, String> props = new LinkedHashMap<>();
        try (WeightPublisher publisher = WeightPublisher.builder().bootstrapServers(broker.bootstrap()).build()) {
            publisher.producerConfig().forEach((k, v) -> {
                if (!NOT_PASSED.contains(k) && v != null) {
                    props.put(k, v instanceof Class<?> cls ? cls.getName() : v.toString());
                }
            });
        }
        return props;
    }
}
