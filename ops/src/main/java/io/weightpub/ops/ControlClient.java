package io.weightpub.ops;

import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.signing.RecordSigner;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends operator commands to the job: {@link ControlRecord}s on {@code <prefix>.control}, keyed
 * by model, each with a fresh request id. A send returns once the broker has acknowledged it.
 * With a signer every record is signed with the operator's key, as a job that requires operator
 * signatures demands.
 */
@PublicEvolving
public final class ControlClient implements AutoCloseable {

    private final KafkaConnection connection;
    private final String topic;
    private final Producer<String, byte[]> producer;
    private final RecordSigner signer;

    public ControlClient(KafkaConnection connection, TopicNames topics) {
        this(connection, topics, null);
    }

    /** A client that signs every record with {@code signer} (null: unsigned). */
    public ControlClient(KafkaConnection connection, TopicNames topics, RecordSigner signer) {
        this.connection = connection;
        this.topic = topics.control();
        this.producer = connection.producer();
        this.signer = signer;
    }

    /** Asks the job to publish the content of {@code targetVersion} again as a new version. */
    public ControlRecord rollback(String modelId, long targetVersion, String reason) {
        if (targetVersion < 1) {
            throw new IllegalArgumentException("rollback target version must be at least 1, got " + targetVersion);
        }
        return send(ControlRecord.newBuilder()
                .setModelId(checkModel(modelId))
                .setAction(ControlAction.ROLLBACK)
                .setTargetVersion(targetVersion)
                .setRequestId(UUID.randomUUID().toString())
                .setReason(Objects.requireNonNull(reason, "reason"))
                .setRequestedAtMs(System.currentTimeMillis())
                .build());
    }

    /** Asks the job to abort the in-flight publish {@code publishId}. */
    public ControlRecord abort(String modelId, String publishId, String reason) {
        if (publishId == null || publishId.isBlank()) {
            throw new IllegalArgumentException("abort needs the publish id of the publish to abort");
        }
        return send(ControlRecord.newBuilder()
                .setModelId(checkModel(modelId))
                .setAction(ControlAction.ABORT)
                .setPublishId(publishId)
                .setRequestId(UUID.randomUUID().toString())
                .setReason(Objects.requireNonNull(reason, "reason"))
                .setRequestedAtMs(System.currentTimeMillis())
                .build());
    }

    /**
     * Asks the job to set the model's step watermark to {@code step} (later publishes must be after
     * it), or to forget it when {@code step} is null (the next publish may have any step): the way out
     * when a publish with a wrong, huge step made every later publish stale.
     */
    public ControlRecord resetStep(String modelId, Long step, String reason) {
        return send(ControlRecord.newBuilder()
                .setModelId(checkModel(modelId))
                .setAction(ControlAction.RESET_STEP)
                .setStep(step)
                .setRequestId(UUID.randomUUID().toString())
                .setReason(Objects.requireNonNull(reason, "reason"))
                .setRequestedAtMs(System.currentTimeMillis())
                .build());
    }

    /** Sends {@code record} keyed by its model, signed if this client has a signer; returns what was sent. */
    public ControlRecord send(ControlRecord unsigned) {
        ControlRecord record = signer == null ? unsigned : signer.sign(unsigned);
        ProducerRecord<String, byte[]> kafkaRecord =
                new ProducerRecord<>(topic, record.getModelId(), WireCodec.CONTROL.encode(record));
        try {
            RecordMetadata written = producer.send(kafkaRecord)
                    .get(connection.timeout().toMillis(), TimeUnit.MILLISECONDS);
            if (written.offset() < 0) {
                throw new OpsException("the broker did not report an offset for " + record.getAction()
                        + " request " + record.getRequestId() + " on " + topic);
            }
            return record;
        } catch (ExecutionException e) {
            throw new OpsException("could not send " + record.getAction() + " request " + record.getRequestId()
                    + " for model " + record.getModelId() + " to " + topic + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new OpsException("sending " + record.getAction() + " request " + record.getRequestId() + " to "
                    + topic + " was not acknowledged within " + connection.timeout(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OpsException("interrupted while sending " + record.getAction() + " to " + topic, e);
        }
    }

    private static String checkModel(String modelId) {
        if (modelId == null || modelId.isBlank()) {
            throw new IllegalArgumentException("model id must be non-blank, got '" + modelId + "'");
        }
        return modelId;
    }

    @Override
    public void close() {
        producer.close(connection.timeout());
    }
}
