package io.weightpub.job.source;

import io.weightpub.events.SerializerTypeInfo;
import io.weightpub.schemas.TopicNames;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.nio.charset.StandardCharsets;

/**
 * Wraps each Kafka record of the input topics, undecoded, with its coordinates. Only the key is
 * read here (to route by model); a record whose value will not decode is still passed on, so the
 * chunk checker or the coordinator can quarantine it with its coordinates instead of the source failing.
 */
@Internal
public final class InputRecordDeserializer implements KafkaRecordDeserializationSchema<InputRecord> {

    private static final long serialVersionUID = 1L;
    public static final TypeInformation<InputRecord> TYPE_INFO =
            new SerializerTypeInfo<>(InputRecord.class, InputRecordSerializer.INSTANCE);

    private final String chunksTopic;
    private final String manifestsTopic;
    private final String controlTopic;

    public InputRecordDeserializer(TopicNames topics) {
        this.chunksTopic = topics.chunks();
        this.manifestsTopic = topics.manifests();
        this.controlTopic = topics.control();
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<InputRecord> out) {
        InputRecord.Kind kind = kindOf(record.topic());
        String model = kind == InputRecord.Kind.CHUNK ? modelOfChunkKey(record.key()) : modelOfKey(record.key());
        out.collect(new InputRecord(
                kind, record.topic(), record.partition(), record.offset(), record.timestamp(), model, record.value()));
    }

    private InputRecord.Kind kindOf(String topic) {
        if (topic.equals(chunksTopic)) {
            return InputRecord.Kind.CHUNK;
        }
        if (topic.equals(manifestsTopic)) {
            return InputRecord.Kind.MANIFEST;
        }
        if (topic.equals(controlTopic)) {
            return InputRecord.Kind.CONTROL;
        }
        throw new IllegalStateException("record from topic " + topic + ", which the job does not subscribe to");
    }

    /** Chunk keys are "model/publish/bucket"; model ids may themselves contain '/'. */
    static String modelOfChunkKey(byte[] key) {
        String text = modelOfKey(key);
        int bucketSlash = text.lastIndexOf('/');
        int publishSlash = bucketSlash <= 0 ? -1 : text.lastIndexOf('/', bucketSlash - 1);
        return publishSlash <= 0 ? InputRecord.NO_MODEL : text.substring(0, publishSlash);
    }

    static String modelOfKey(byte[] key) {
        return key == null ? InputRecord.NO_MODEL : new String(key, StandardCharsets.UTF_8);
    }

    @Override
    public TypeInformation<InputRecord> getProducedType() {
        return TYPE_INFO;
    }
}
