package io.weightpub.publisher;

import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;

/**
 * The Kafka records of a publish: topic, key and value. Chunks are keyed
 * {@code model/publishId/bucketIndex}, so a bucket's chunks share a partition and stay in order;
 * manifests are keyed by model id. Values are {@link WireCodec} encodings.
 */
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

    /** A chunk record with a value given as is (tests pass corrupted encodings). */
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
