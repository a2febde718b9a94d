package io.weightpub.testutils;

import io.weightpub.events.WeightEvent;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32C;

/**
 * Plays trainer and job for sink tests on a real chunks topic: sends a {@link TestVersion}'s chunks
 * round-robin over the partitions (with a record of another model between any two of them), and
 * builds the events the job would emit for them, with their real Kafka coordinates.
 */
public final class KafkaVersions implements AutoCloseable {

    private final String topic;
    private final int partitions;
    private final KafkaProducer<byte[], byte[]> producer;

    public KafkaVersions(String bootstrapServers, String topic, int partitions) {
        this.topic = topic;
        this.partitions = partitions;
        this.producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(16 << 20),
                ProducerConfig.LINGER_MS_CONFIG, "5",
                ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(1 << 20)),
                new ByteArraySerializer(), new ByteArraySerializer());
    }

    public String topic() {
        return topic;
    }

    /** One version's chunk events (with their offsets) and the offset ranges that hold them. */
    public record Published(TestVersion version, List<WeightEvent> chunks, List<KafkaOffsetRange> ranges) {

        /** The job's commit of this content as published version {@code version}. */
        public WeightEvent commit(long version, long contentVersion) {
            VersionIndexEntry location = VersionIndexEntry.newBuilder()
                    .setModelId(this.version.modelId())
                    .setVersion(version)
                    .setContentVersion(contentVersion)
                    .setStep(this.version.step())
                    .setPublishId(this.version.publishId())
                    .setTotalBytes((long) this.version.size())
                    .setManifestSha256(ByteBuffer.wrap(new byte[32]))
                    .setManifestRange(new KafkaOffsetRange("test.manifests", 0, 0L, 0L))
                    .setChunkRanges(ranges)
                    .setBucketSha256(List.of())
                    .setCompletedAtMs(0)
                    .setReason(version == contentVersion ? "publish" : "rollback to version " + contentVersion)
                    .build();
            return WeightEvent.commitVersion(this.version.modelId(), this.version.publishId(), this.version.step(),
                    version, contentVersion, this.version.size(), WireCodec.MANIFEST.encode(this.version.manifest()),
                    WireCodec.VERSION_INDEX.encode(location), location.getReason());
        }
    }

    public Published publish(TestVersion version, int bucketBytes, int chunkBytes) {
        return publish(version, bucketBytes, chunkBytes, UnaryOperator.identity(), true);
    }

    public Published publish(TestVersion version, int bucketBytes, int chunkBytes, UnaryOperator<WeightChunk> tamper) {
        return publish(version, bucketBytes, chunkBytes, tamper, true);
    }

    /**
     * Sends every chunk ({@code chunkBytes} must divide {@code bucketBytes}), each passed through
     * {@code tamper}, with a record of another model after each one if {@code interleave}.
     */
    public Published publish(TestVersion version, int bucketBytes, int chunkBytes, UnaryOperator<WeightChunk> tamper,
            boolean interleave) {
        return publishCopies(version, bucketBytes, chunkBytes, chunk -> List.of(tamper.apply(chunk)), interleave);
    }

    /**
     * Sends, for every chunk, the records {@code copies} makes of it, back to back in its partition
     * (a producer retry or a re-sent chunk); the events and offsets are those of the first copy, and
     * the ranges cover every copy.
     */
    public Published publishCopies(TestVersion version, int bucketBytes, int chunkBytes,
            Function<WeightChunk, List<WeightChunk>> copies, boolean interleave) {
        byte[] bytes = version.bytes();
        int buckets = bytes.length / bucketBytes;
        List<Future<RecordMetadata>> sends = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        List<int[]> positions = new ArrayList<>();
        List<Future<RecordMetadata>> copySends = new ArrayList<>();
        int sent = 0;
        for (int b = 0; b < buckets; b++) {
            int chunksPerBucket = bucketBytes / chunkBytes;
            for (int c = 0; c < chunksPerBucket; c++) {
                int from = b * bucketBytes + c * chunkBytes;
                byte[] payload = Arrays.copyOfRange(bytes, from, from + chunkBytes);
                CRC32C crc = new CRC32C();
                crc.update(payload);
                List<WeightChunk> records = copies.apply(WeightChunk.newBuilder()
                        .setModelId(version.modelId())
                        .setStep(version.step())
                        .setPublishId(version.publishId())
                        .setBucketIndex(b)
                        .setBucketCount(buckets)
                        .setChunkIndex(c)
                        .setChunkCount(chunksPerBucket)
                        .setBucketOffset((long) b * bucketBytes)
                        .setBucketSize(bucketBytes)
                        .setChunkOffset((long) c * chunkBytes)
                        .setVersionBytes((long) bytes.length)
                        .setCrc32c((int) crc.getValue())
                        .setPayload(ByteBuffer.wrap(payload))
                        .build());
                int partition = sent++ % partitions;
                sends.add(producer.send(new ProducerRecord<>(topic, partition, null,
                        WireCodec.CHUNK.encode(records.get(0)))));
                for (WeightChunk copy : records.subList(1, records.size())) {
                    copySends.add(producer.send(new ProducerRecord<>(topic, partition, null,
                            WireCodec.CHUNK.encode(copy))));
                }
                if (interleave) {
                    producer.send(new ProducerRecord<>(topic, partition, null, noise(version)));
                }
                payloads.add(payload);
                positions.add(new int[] {b, c, from});
            }
        }
        producer.flush();
        List<WeightEvent> events = new ArrayList<>();
        TreeMap<Integer, long[]> spans = new TreeMap<>();
        for (int i = 0; i < sends.size(); i++) {
            RecordMetadata at = await(sends.get(i));
            int[] position = positions.get(i);
            events.add(WeightEvent.stageChunk(version.modelId(), version.publishId(), version.step(), bytes.length,
                    position[2], position[0], position[1], at.partition(), at.offset(), payloads.get(i)));
            spans.merge(at.partition(), new long[] {at.offset(), at.offset()},
                    (x, y) -> new long[] {Math.min(x[0], y[0]), Math.max(x[1], y[1])});
        }
        for (Future<RecordMetadata> copy : copySends) {
            RecordMetadata at = await(copy);
            spans.merge(at.partition(), new long[] {at.offset(), at.offset()},
                    (x, y) -> new long[] {Math.min(x[0], y[0]), Math.max(x[1], y[1])});
        }
        List<KafkaOffsetRange> ranges = new ArrayList<>();
        spans.forEach((p, span) -> ranges.add(new KafkaOffsetRange(topic, p, span[0], span[1])));
        return new Published(version, events, ranges);
    }

    /** A small chunk of another model, as other publishes interleave with a version in the topic. */
    private static byte[] noise(TestVersion version) {
        byte[] payload = new byte[16];
        CRC32C crc = new CRC32C();
        crc.update(payload);
        return WireCodec.CHUNK.encode(WeightChunk.newBuilder()
                .setModelId(version.modelId() + "-other")
                .setStep(1)
                .setPublishId("other-publish")
                .setBucketIndex(0)
                .setBucketCount(1)
                .setChunkIndex(0)
                .setChunkCount(1)
                .setBucketOffset(0L)
                .setBucketSize(16L)
                .setChunkOffset(0L)
                .setVersionBytes(16L)
                .setCrc32c((int) crc.getValue())
                .setPayload(ByteBuffer.wrap(payload))
                .build());
    }

    private RecordMetadata await(Future<RecordMetadata> send) {
        try {
            return send.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not send to " + topic, e.getCause());
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}
