package io.weightpub.publisher;

import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;

/**
 * The Kafka records of a publish: topic, key and value. Chunks are keyed
 * {@code model/publishId/bucketIndex} (the job reads the model from the key) but the publisher
 * places them on partitions explicitly, round robin over the version's chunks (see
 * {@code internal.ChunkPartitions}), so a version spreads evenly over the chunks topic however
 * few buckets it has; readers never rely on a bucket's chunks sharing a partition or arriving in
 * order. Manifests are keyed by model id. Values are {@link WireCodec} encodings.
 */
@PublicEvolving
public final class PublishRecords {

    private PublishRecords() {
    }

    public static String chunkKey(String modelId, String publishId, int bucketIndex) {
        return modelId + "/" + publishId + "/" + bucketIndex;
    }

    public static byte[] chunkKey(WeightChunk chunk) {
        return chunkKey(chunk.getModelId(), chunk.getPublishId(), chunk.getBucketIndex())
                .getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] manifestKey(VersionManifest manifest) {
        return manifest.getModelId().getBytes(StandardCharsets.UTF_8);
    }

    public static ProducerRecord<byte[], byte[]> chunkRecord(TopicNames topics, WeightChunk chunk) {
        return chunkRecord(topics, chunk, WireCodec.CHUNK.encode(chunk));
    }

    /** A chunk record on the given partition of the chunks topic. */
    public static ProducerRecord<byte[], byte[]> chunkRecord(TopicNames topics, WeightChunk chunk, int partition) {
        return new ProducerRecord<>(topics.chunks(), partition, chunkKey(chunk), WireCodec.CHUNK.encode(chunk));
    }

    /** A chunk record with a value given as is (tests pass corrupted encodings), partitioned by its key. */
    public static ProducerRecord<byte[], byte[]> chunkRecord(TopicNames topics, WeightChunk chunk, byte[] value) {
        return new ProducerRecord<>(topics.chunks(), chunkKey(chunk), value);
    }

    public static ProducerRecord<byte[], byte[]> manifestRecord(TopicNames topics, VersionManifest manifest) {
        return manifestRecord(topics, manifest, WireCodec.MANIFEST.encode(manifest));
    }

    /** A manifest record with a value given as is. */
    public static ProducerRecord<byte[], byte[]> manifestRecord(
            TopicNames topics, VersionManifest manifest, byte[] value) {
        return new ProducerRecord<>(topics.manifests(), manifestKey(manifest), value);
    }
}
