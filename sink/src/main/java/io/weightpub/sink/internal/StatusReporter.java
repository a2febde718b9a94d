package io.weightpub.sink.internal;

import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WorkerStatus;
import org.apache.flink.annotation.Internal;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Properties;

/**
 * Writes one worker's {@link WorkerStatus} records, keyed {@code model/worker}, to the status
 * topic (and logs them). Without a status topic it only logs. Thread-safe.
 */
@Internal
public final class StatusReporter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StatusReporter.class);

    private final int worker;
    private final String topic;
    private final Producer<String, byte[]> producer;
    private volatile boolean closed;

    StatusReporter(int worker, String topic, String bootstrapServers, Properties producerProperties) {
        this.worker = worker;
        this.topic = topic;
        if (topic == null) {
            this.producer = null;
        } else {
            Properties props = new Properties();
            props.putAll(producerProperties);
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
            props.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
            props.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "weightpub-sink-status-" + worker);
            this.producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
        }
    }

    /** One status record; {@code version}/{@code contentVersion} are -1 when not assigned yet. */
    public void report(VersionState state, String modelId, long version, long contentVersion, long step,
            String publishId, long bytes, long durationMs, String message) {
        WorkerStatus status = WorkerStatus.newBuilder()
                .setModelId(modelId)
                .setWorker(worker)
                .setVersion(version)
                .setContentVersion(contentVersion)
                .setStep(step)
                .setPublishId(publishId)
                .setState(state)
                .setBytes(bytes)
                .setDurationMs(durationMs)
                .setTimestampMs(System.currentTimeMillis())
                .setMessage(message)
                .build();
        if (state == VersionState.FAILED) {
            LOG.warn("worker {} model {} publish {} version {}: {} {}", worker, modelId, publishId, version, state,
                    message);
        } else {
            LOG.info("worker {} model {} publish {} version {}: {} ({} bytes, {} ms) {}", worker, modelId, publishId,
                    version, state, bytes, durationMs, message);
        }
        if (producer != null && !closed) {
            producer.send(new ProducerRecord<>(topic, modelId + "/" + worker, WireCodec.STATUS.encode(status)),
                    (metadata, error) -> {
                        if (error != null) {
                            LOG.warn("worker {}: status record {} of model {} not written to {}", worker, state,
                                    modelId, topic, error);
                        }
                    });
        }
    }

    void flush() {
        // A writer that outlived its released runtime (a worker torn down under it) has nothing to flush.
        if (producer != null && !closed) {
            producer.flush();
        }
    }

    @Override
    public void close() {
        closed = true;
        if (producer != null) {
            producer.close();
        }
    }
}
