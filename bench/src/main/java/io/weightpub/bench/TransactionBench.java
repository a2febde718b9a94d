package io.weightpub.bench;

import io.weightpub.publisher.ByteSize;
import io.weightpub.publisher.PublishEncoder;
import io.weightpub.publisher.PublishRecords;
import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.TensorSource;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.publisher.WeightPublisherBuilder;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.WeightChunk;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

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
        WeightPublisherBuilder builder = WeightPublisher.builder().bootstrapServers(bootstrap).topicPrefix(prefix)
                .transactionalId("bench-" + prefix);
        if (mode.equals("default")) {
            builder.producerProperty("transaction.timeout.ms", "60000"); // what every publish had before sizing
        }
        String link = quotaMbps > 0 ? String.format(Locale.ROOT, "quota %.0f MB/s", quotaMbps) : "unthrottled";
        // Once 90 % is sent, every bucket of the big version has begun, so its transaction spans
        // every chunk partition it will touch: then another model publishes.
        CompletableFuture<String> probe = new CompletableFuture<>();
        AtomicBoolean probing = new AtomicBoolean();
        builder.progressListener(p -> {
            if (p.bytesSent() * 10 >= p.totalBytes() * 9 && probing.compareAndSet(false, true)) {
                CompletableFuture.runAsync(() -> {
                    try {
                        probe.complete(probe(bootstrap, prefix));
                    } catch (RuntimeException e) {
                        probe.completeExceptionally(e);
                    }
                });
            }
        });
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
            stall = probing.get() ? probe.get(15, TimeUnit.MINUTES) : "no probe (the publish failed before 90 %)";
        } catch (Exception e) {
            stall = "probe failed: " + e;
        }
        Topics.delete(bootstrap, new ArrayList<>(topics.names(prefix)));
        return String.format(Locale.ROOT, "%s, %s, timeout=%s: %s; %s", ByteSize.format(bytes), link, mode, outcome,
                stall);
    }

    /**
     * Sends a 6 MiB version of another model (6 buckets of 1 MiB, so several chunk partitions) without a
     * transaction and measures how long after its acknowledgement the last stable offset of every
     * partition it wrote passes its records: until then a read_committed reader (the job) cannot
     * read them.
     */
    private static String probe(String bootstrap, String prefix) {
        TopicNames names = TopicNames.of(prefix);
        List<TensorSource> sixBuckets = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            sixBuckets.add(SyntheticModel.flat("w" + i, 1L << 20, (long) i << 20));
        }
        PublishEncoder small = PublishEncoder.builder().modelId("small").step(1).bucketSizeBytes(1 << 20)
                .tensors(sixBuckets).build();
        Map<TopicPartition, Long> lastOffsets = new HashMap<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.CLIENT_ID_CONFIG, "weightpub-probe",
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 << 20), new ByteArraySerializer(), new ByteArraySerializer());
             Admin admin = Topics.admin(bootstrap)) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (Iterator<WeightChunk> chunks = small.chunks(); chunks.hasNext(); ) {
                sent.add(producer.send(PublishRecords.chunkRecord(names, chunks.next())));
            }
            for (Future<RecordMetadata> f : sent) {
                RecordMetadata m = f.get();
                lastOffsets.merge(new TopicPartition(m.topic(), m.partition()), m.offset(), Math::max);
            }
            long acked = System.nanoTime();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            lastOffsets.keySet().forEach(tp -> latest.put(tp, OffsetSpec.latest()));
            int blockedAtAck = -1;
            while (true) {
                Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> stable = admin.listOffsets(latest,
                        new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get();
                int blocked = (int) lastOffsets.entrySet().stream()
                        .filter(e -> stable.get(e.getKey()).offset() <= e.getValue()).count();
                if (blockedAtAck < 0) {
                    blockedAtAck = blocked;
                }
                if (blocked == 0) {
                    return String.format(Locale.ROOT, "a 6 MiB version of another model sent at 90 %% was readable"
                                    + " read_committed %.1f s after its ack (%d of its %d chunk partitions were"
                                    + " behind the open transaction)", (System.nanoTime() - acked) / 1e9,
                            blockedAtAck, lastOffsets.size());
                }
                Thread.sleep(50);
            }
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
