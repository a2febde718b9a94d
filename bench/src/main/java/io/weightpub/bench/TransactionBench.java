package io.weightpub.bench;

import io.weightpub.publisher.ByteSize;
import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.TensorSource;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.schemas.ChunkView;
import io.weightpub.schemas.TopicNames;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One large transactional publish, with Kafka's default {@code transaction.timeout.ms} (60 s) and
 * with the publisher's sizing, optionally over a link throttled by a broker quota; meanwhile a
 * small non-transactional version of another model shows how long {@code read_committed} readers
 * of the chunks topic wait behind the open transaction.
 *
 * <p>{@code TransactionBench [--bytes 4GiB] [--bootstrap HOST:PORT] [--quota-mbps 40,0] [--modes default,sized]}
 * (without {@code --bootstrap}, an in-process broker). Prints one line per run.
 */
public final class TransactionBench {

    private static final String CLIENT_ID = "weightpub-publisher";
    private static final long TENSOR_BYTES = 256L << 20;

    public static void main(String[] argv) throws Exception {
        long bytes = 4L << 30;
        String bootstrap = null;
        List<Double> quotas = List.of(0.0);
        List<String> modes = List.of("default", "sized");
        for (int i = 0; i < argv.length; i += 2) {
            switch (argv[i]) {
                case "--bytes" -> bytes = ByteSize.parse(argv[i + 1]);
                case "--bootstrap" -> bootstrap = argv[i + 1];
                case "--quota-mbps" -> quotas = List.of(argv[i + 1].split(",")).stream().map(Double::parseDouble).toList();
                case "--modes" -> modes = List.of(argv[i + 1].split(","));
                default -> throw new IllegalArgumentException("unknown option " + argv[i]);
            }
        }
        try (Broker broker = bootstrap == null ? Broker.embedded() : Broker.external(bootstrap, "external")) {
            for (double quota : quotas) {
                setQuota(broker.bootstrap(), quota);
                for (String mode : modes) {
                    System.out.println(run(broker.bootstrap(), bytes, quota, mode));
                }
            }
            setQuota(broker.bootstrap(), 0);
        }
    }

    static String run(String bootstrap, long bytes, double quotaMbps, String mode) throws Exception {
        String prefix = "bench-tx-" + UUID.randomUUID().toString().substring(0, 8);
        Topics topics = Topics.bundled();
        topics.create(bootstrap, prefix);
        WeightPublisher.Builder builder = WeightPublisher.builder().bootstrapServers(bootstrap).topicPrefix(prefix)
                .transactionalId("bench-" + prefix);
        if (mode.equals("default")) {
            builder.producerProperty("transaction.timeout.ms", "60000"); // what every publish had before sizing
        }
        String link = quotaMbps > 0 ? String.format(Locale.ROOT, "quota %.0f MB/s", quotaMbps) : "unthrottled";
        CompletableFuture<String> probe = CompletableFuture.supplyAsync(() -> probe(bootstrap, prefix));
        long start = System.nanoTime();
        String outcome;
        try (WeightPublisher publisher = builder.build()) {
            PublishResult result = publisher.publish("big", 1, tensors(bytes));
            outcome = String.format(Locale.ROOT, "committed in %.1f s (%.1f MB/s)",
                    result.elapsed().toNanos() / 1e9, result.megabytesPerSecond());
        } catch (RuntimeException e) {
            outcome = String.format(Locale.ROOT, "FAILED after %.1f s: %s", (System.nanoTime() - start) / 1e9,
                    e.getMessage());
        }
        String stall;
        try {
            stall = probe.get(15, TimeUnit.MINUTES);
        } catch (Exception e) {
            stall = "probe failed: " + e;
        }
        Topics.delete(bootstrap, new ArrayList<>(topics.names(prefix)));
        return String.format(Locale.ROOT, "%s, %s, timeout=%s: %s; %s", ByteSize.format(bytes), link, mode, outcome,
                stall);
    }

    /**
     * 10 s into the big publish, publishes a 6 MiB version of another model (6 buckets, so several
     * chunk partitions) without a transaction, and measures how long after its acknowledgement a
     * read_committed consumer sees all of its chunks.
     */
    private static String probe(String bootstrap, String prefix) {
        try {
            Thread.sleep(10_000);
            PublishResult small;
            try (WeightPublisher publisher = WeightPublisher.builder().bootstrapServers(bootstrap).topicPrefix(prefix)
                    .bucketSizeBytes(1 << 20).producerProperty("client.id", "weightpub-probe").build()) {
                small = publisher.publish("small", 1, List.of(SyntheticModel.flat("w", 6L << 20, 0)));
            }
            long acked = System.nanoTime();
            long seen = 0;
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                    ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 4 << 20),
                    new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                // assigned, not subscribed: no group join delays the first fetch
                String chunks = TopicNames.of(prefix).chunks();
                consumer.assign(consumer.partitionsFor(chunks).stream()
                        .map(p -> new TopicPartition(chunks, p.partition())).toList());
                while (seen < small.chunks()) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        if (ChunkView.parse(r.value()).publishId().equals(small.publishId())) {
                            seen++;
                        }
                    }
                    if (System.nanoTime() - acked > TimeUnit.MINUTES.toNanos(10)) {
                        return "small version of another model: " + seen + "/" + small.chunks()
                                + " chunks visible to read_committed after 10 min";
                    }
                }
            }
            return String.format(Locale.ROOT,
                    "small version of another model acknowledged 10 s in, visible to read_committed %.1f s later",
                    (System.nanoTime() - acked) / 1e9);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<TensorSource> tensors(long bytes) {
        List<TensorSource> tensors = new ArrayList<>();
        for (long at = 0; at < bytes; at += TENSOR_BYTES) {
            tensors.add(SyntheticModel.flat("layers." + tensors.size() + ".weight", Math.min(TENSOR_BYTES, bytes - at), at));
        }
        return tensors;
    }

    /** A broker-side byte-rate quota on the publisher's client id, to stand for a slower link (0: none). */
    private static void setQuota(String bootstrap, double mbps) throws Exception {
        try (Admin admin = Topics.admin(bootstrap)) {
            ClientQuotaEntity entity = new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID, CLIENT_ID));
            Double rate = mbps > 0 ? mbps * 1e6 : null;
            admin.alterClientQuotas(List.of(new ClientQuotaAlteration(entity,
                    List.of(new ClientQuotaAlteration.Op("producer_byte_rate", rate))))).all().get();
        }
    }
}
