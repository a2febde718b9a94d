package io.weightpub.job.testutils;

import io.weightpub.publisher.PublishRecords;
import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.testutils.EmbeddedKafka;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.function.UnaryOperator;

/**
 * Plays a trainer on real Kafka: creates the deployment's topics and sends publishes the way a
 * misbehaving world would (shuffled, duplicated, corrupted, incomplete).
 */
public final class TrainerTopics implements AutoCloseable {

    public static final int CHUNK_PARTITIONS = 3;

    private final TopicNames topics;
    private final int chunkPartitions;
    private final KafkaProducer<byte[], byte[]> producer;

    public TrainerTopics(EmbeddedKafka kafka, TopicNames topics) {
        this(kafka, topics, CHUNK_PARTITIONS);
    }

    /** The topics with {@code chunkPartitions} partitions of the chunks topic. */
    public TrainerTopics(EmbeddedKafka kafka, TopicNames topics, int chunkPartitions) {
        this.topics = topics;
        this.chunkPartitions = chunkPartitions;
        kafka.createTopic(topics.chunks(), chunkPartitions, Map.of());
        kafka.createTopic(topics.manifests(), 1, Map.of());
        kafka.createTopic(topics.control(), 1, Map.of());
        kafka.createTopic(topics.status(), 1, Map.of());
        kafka.createTopic(topics.versions(), 1, Map.of("cleanup.policy", "compact"));
        kafka.createTopic(topics.deadLetters(), 1, Map.of());
        this.producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(8 << 20)),
                new ByteArraySerializer(), new ByteArraySerializer());
    }

    public TopicNames topics() {
        return topics;
    }

    /** Chunks in order on the partitions their keys pick, then the manifest. */
    public void publish(RandomPublish version) {
        send(version, SendPlan.inOrder());
    }

    public void send(RandomPublish version, SendPlan plan) {
        Random random = new Random(plan.seed);
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        List<WeightChunk> chunks = version.chunks();
        for (WeightChunk chunk : chunks.subList(Math.min(plan.keepFrom, chunks.size()),
                Math.min(plan.keepUntil, chunks.size()))) {
            if (plan.dropped.contains(chunk.getBucketIndex() + "/" + chunk.getChunkIndex())) {
                continue;
            }
            byte[] value = plan.chunkValue.apply(chunk) == null
                    ? WireCodec.CHUNK.encode(chunk)
                    : plan.chunkValue.apply(chunk);
            ProducerRecord<byte[], byte[]> record = PublishRecords.chunkRecord(topics, chunk, value);
            if (plan.shuffle) {
                record = new ProducerRecord<>(record.topic(), random.nextInt(chunkPartitions), record.key(),
                        record.value());
            }
            records.add(record);
            if (plan.duplicateEveryChunk) {
                records.add(record);
            }
        }
        if (plan.shuffle) {
            Collections.shuffle(records, random);
        }
        ProducerRecord<byte[], byte[]> manifest = PublishRecords.manifestRecord(topics,
                plan.manifest != null ? plan.manifest : version.manifest());
        if (plan.withManifest) {
            if (plan.manifestFirst) {
                records.add(0, manifest);
            } else {
                records.add(manifest);
            }
        }
        for (ProducerRecord<byte[], byte[]> record : records) {
            producer.send(record);
        }
        producer.flush();
    }

    /** Sends raw bytes to the chunks topic, keyed as a chunk of {@code model}. */
    public void sendRawChunk(String model, byte[] value) {
        producer.send(new ProducerRecord<>(topics.chunks(), 0,
                (model + "/garbage/0").getBytes(StandardCharsets.UTF_8), value));
        producer.flush();
    }

    /** Sends any key and value (either may be null) to {@code topic}, partition 0. */
    public void sendRaw(String topic, byte[] key, byte[] value) {
        producer.send(new ProducerRecord<>(topic, 0, key, value));
        producer.flush();
    }

    public void rollback(String model, long targetVersion) {
        control(ControlRecord.newBuilder()
                .setModelId(model)
                .setAction(ControlAction.ROLLBACK)
                .setTargetVersion(targetVersion)
                .setRequestId(UUID.randomUUID().toString())
                .setReason("test")
                .setRequestedAtMs(System.currentTimeMillis())
                .build());
    }

    public void control(ControlRecord record) {
        producer.send(new ProducerRecord<>(topics.control(), record.getModelId().getBytes(StandardCharsets.UTF_8),
                WireCodec.CONTROL.encode(record)));
        producer.flush();
    }

    @Override
    public void close() {
        producer.close();
    }

    /** How to send a publish. */
    public static final class SendPlan {
        private boolean shuffle;
        private boolean duplicateEveryChunk;
        private boolean manifestFirst;
        private boolean withManifest = true;
        private VersionManifest manifest;
        private long seed = 1;
        private final List<String> dropped = new ArrayList<>();
        private int keepFrom = 0;
        private int keepUntil = Integer.MAX_VALUE;
        private java.util.function.Function<WeightChunk, byte[]> chunkValue = chunk -> null;

        public static SendPlan inOrder() {
            return new SendPlan();
        }

        /** Chunks on random partitions in random order. */
        public SendPlan shuffled(long seed) {
            this.shuffle = true;
            this.seed = seed;
            return this;
        }

        public SendPlan duplicatingEveryChunk() {
            this.duplicateEveryChunk = true;
            return this;
        }

        public SendPlan manifestFirst() {
            this.manifestFirst = true;
            return this;
        }

        /** Sends {@code manifest} (signed, altered, another publish's) instead of the version's own. */
        public SendPlan withManifest(VersionManifest manifest) {
            this.manifest = manifest;
            return this;
        }

        public SendPlan withoutManifest() {
            this.withManifest = false;
            return this;
        }

        /** Leaves out the chunks at positions {@code from} and later in send order. */
        public SendPlan droppingFrom(int from) {
            this.keepFrom = 0;
            this.keepUntil = from;
            return this;
        }

        /** Leaves out the chunks before position {@code until} in send order. */
        public SendPlan droppingBefore(int until) {
            this.keepFrom = until;
            this.keepUntil = Integer.MAX_VALUE;
            return this;
        }

        public SendPlan dropping(int bucket, int chunk) {
            dropped.add(bucket + "/" + chunk);
            return this;
        }

        /** Sends {@code value} instead of the encoding of the chunk at (bucket, chunk). */
        public SendPlan replacingValue(int bucket, int chunk, UnaryOperator<byte[]> value) {
            java.util.function.Function<WeightChunk, byte[]> previous = chunkValue;
            chunkValue = c -> c.getBucketIndex() == bucket && c.getChunkIndex() == chunk
                    ? value.apply(WireCodec.CHUNK.encode(c))
                    : previous.apply(c);
            return this;
        }
    }
}
