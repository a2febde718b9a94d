package io.weightpub.ops.testutils;

import io.weightpub.ops.KafkaConnection;
import io.weightpub.ops.TopicAdmin;
import io.weightpub.ops.TopicSettings;
import io.weightpub.publisher.testutils.TopicReader;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.testutils.KafkaClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A deployment's topics under a fresh prefix on the test's broker, made with the bundled
 * {@code topics.properties}, and the records the job and the workers would write there.
 */
public final class OpsTopics implements AutoCloseable {

    private static final AtomicInteger PREFIXES = new AtomicInteger();

    private final KafkaClusterExtension kafka;
    private final TopicNames topics;
    private final KafkaConnection connection;
    private final KafkaProducer<String, byte[]> producer;

    private OpsTopics(KafkaClusterExtension kafka, TopicNames topics) {
        this.kafka = kafka;
        this.topics = topics;
        this.connection = KafkaConnection.builder()
                .bootstrapServers(kafka.bootstrapServers())
                .timeout(Duration.ofSeconds(20))
                .build();
        this.producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), new ByteArraySerializer());
    }

    /** A fresh prefix with no topics yet. */
    public static OpsTopics withoutTopics(KafkaClusterExtension kafka) {
        return new OpsTopics(kafka, TopicNames.of("ops" + PREFIXES.incrementAndGet()));
    }

    /** A fresh prefix with every topic of the bundled settings. */
    public static OpsTopics create(KafkaClusterExtension kafka) {
        OpsTopics created = withoutTopics(kafka);
        TopicAdmin.create(created.connection, created.topics, TopicSettings.bundled());
        return created;
    }

    public TopicNames topics() {
        return topics;
    }

    public KafkaConnection connection() {
        return connection;
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    /** Appends {@code count} small records to a chunks partition; returns the range they took. */
    public KafkaOffsetRange writeChunks(int partition, int count) {
        long first = -1;
        long last = -1;
        for (int i = 0; i < count; i++) {
            long offset = send(new ProducerRecord<>(topics.chunks(), partition, "chunk", new byte[] {(byte) i}));
            first = first < 0 ? offset : first;
            last = offset;
        }
        return new KafkaOffsetRange(topics.chunks(), partition, first, last);
    }

    /** Removes every record of a chunks partition below {@code offset}, as retention would. */
    public void deleteChunksBefore(int partition, long offset) throws Exception {
        try (Admin admin = Admin.create(kafka.kafka().adminProperties())) {
            admin.deleteRecords(Map.of(new TopicPartition(topics.chunks(), partition),
                    RecordsToDelete.beforeOffset(offset))).all().get();
        }
    }

    public void write(VersionIndexEntry entry) {
        send(new ProducerRecord<>(topics.versions(), entry.getModelId() + "/" + entry.getVersion(),
                WireCodec.VERSION_INDEX.encode(entry)));
    }

    public void write(WorkerStatus status) {
        send(new ProducerRecord<>(topics.status(), status.getModelId() + "/" + status.getWorker(),
                WireCodec.STATUS.encode(status)));
    }

    /** A record as it is, e.g. one that does not decode. */
    public void writeRaw(String topic, String key, byte[] value) {
        send(new ProducerRecord<>(topic, key, value));
    }

    /** Every control record sent so far. */
    public List<ControlRecord> controlRecords() throws Exception {
        List<ControlRecord> records = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : TopicReader.readAll(bootstrapServers(), topics.control(), true)) {
            ControlRecord control = WireCodec.CONTROL.decode(record.value());
            if (!control.getModelId().equals(new String(record.key(), StandardCharsets.UTF_8))) {
                throw new AssertionError("control record of model " + control.getModelId() + " keyed "
                        + new String(record.key(), StandardCharsets.UTF_8));
            }
            records.add(control);
        }
        return records;
    }

    /**
     * Plays the job (and workers): on another thread, waits for the first control record, then
     * writes the status records {@code answer} makes of it.
     */
    public CompletableFuture<Void> answerFirstControlRecord(Function<ControlRecord, List<WorkerStatus>> answer) {
        return CompletableFuture.runAsync(() -> {
            try {
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                List<ControlRecord> sent = controlRecords();
                while (sent.isEmpty()) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("no control record arrived on " + topics.control());
                    }
                    Thread.sleep(50);
                    sent = controlRecords();
                }
                answer.apply(sent.get(0)).forEach(this::write);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** A version index entry as the job writes it; content version differs from version after a rollback. */
    public VersionIndexEntry entry(String model, long version, long contentVersion, String reason,
            List<KafkaOffsetRange> chunkRanges) {
        return VersionIndexEntry.newBuilder()
                .setModelId(model)
                .setVersion(version)
                .setContentVersion(contentVersion)
                .setStep(100 + contentVersion)
                .setPublishId("publish-" + contentVersion)
                .setTotalBytes(1024L * 1024 * contentVersion)
                .setManifestSha256(ByteBuffer.wrap(new byte[] {(byte) 0xab, (byte) 0xcd, (byte) version, 1, 2, 3, 4, 5}))
                .setManifestRange(new KafkaOffsetRange(topics.manifests(), 0, version, version))
                .setChunkRanges(chunkRanges)
                .setBucketSha256(List.of())
                .setCompletedAtMs(1_700_000_000_000L + version * 1000)
                .setReason(reason)
                .build();
    }

    public static WorkerStatus status(String model, int worker, VersionState state, long version, long contentVersion,
            String publishId, String message) {
        return WorkerStatus.newBuilder()
                .setModelId(model)
                .setWorker(worker)
                .setVersion(version)
                .setContentVersion(contentVersion)
                .setStep(100 + contentVersion)
                .setPublishId(publishId)
                .setState(state)
                .setBytes(1024)
                .setDurationMs(5)
                .setTimestampMs(System.currentTimeMillis())
                .setMessage(message)
                .build();
    }

    private long send(ProducerRecord<String, byte[]> record) {
        try {
            return producer.send(record).get().offset();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not write to " + record.topic(), e.getCause());
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}
