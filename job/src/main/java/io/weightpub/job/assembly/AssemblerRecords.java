package io.weightpub.job.assembly;

import io.weightpub.job.source.InputRecord;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WorkerStatus;

import org.apache.flink.api.java.tuple.Tuple3;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Builds the dead-letter and status records the checkers and coordinators write to the job's output
 * topics.
 */
final class AssemblerRecords {

    /** Longest model id; longer text fields of dead letters and status records are cut to {@link #MAX_TEXT_CHARS}. */
    static final int MAX_ID_CHARS = 256;

    static final int MAX_TEXT_CHARS = 1024;

    /** Worker id in status records written by the job rather than by a sink subtask. */
    static final int JOB_WORKER = -1;

    private final String statusTopic;
    private final String deadLetterTopic;
    private final int deadLetterMaxRawBytes;

    AssemblerRecords(String statusTopic, String deadLetterTopic, int deadLetterMaxRawBytes) {
        this.statusTopic = statusTopic;
        this.deadLetterTopic = deadLetterTopic;
        this.deadLetterMaxRawBytes = deadLetterMaxRawBytes;
    }

    Tuple3<String, byte[], byte[]> deadLetter(InputRecord record, String modelId, Long step, String publishId,
            Integer bucketIndex, Integer chunkIndex, String reason, long nowMs) {
        byte[] raw = record.value();
        return deadLetter(record.topic(), record.partition(), record.offset(), record.timestamp(), record.modelKey(),
                raw == null ? 0 : raw.length, raw != null && raw.length <= deadLetterMaxRawBytes ? raw : null, modelId,
                step, publishId, bucketIndex, chunkIndex, reason, nowMs);
    }

    /**
     * A dead letter for a chunk record the coordinator refuses: it has only the chunk's receipt, so
     * the letter names the record by its coordinates and size and carries no raw bytes.
     */
    Tuple3<String, byte[], byte[]> deadLetter(String chunksTopic, ChunkReceipt chunk, String reason, long nowMs) {
        return deadLetter(chunksTopic, chunk.partition(), chunk.offset(), chunk.timestamp(), chunk.modelId(),
                chunk.recordBytes(), null, chunk.modelId(), chunk.step(), chunk.publishId(), chunk.bucketIndex(),
                chunk.chunkIndex(), reason, nowMs);
    }

    private Tuple3<String, byte[], byte[]> deadLetter(String topic, int partition, long offset, long timestamp,
            String modelKey, int rawSize, byte[] raw, String modelId, Long step, String publishId,
            Integer bucketIndex, Integer chunkIndex, String reason, long nowMs) {
        DeadLetter letter = DeadLetter.newBuilder()
                .setTopic(topic)
                .setPartition(partition)
                .setOffset(offset)
                .setRecordTimestampMs(timestamp)
                .setModelId(clip(modelId != null ? modelId : emptyToNull(modelKey)))
                .setStep(step)
                .setPublishId(clip(publishId))
                .setBucketIndex(bucketIndex)
                .setChunkIndex(chunkIndex)
                .setReason(clip(reason))
                .setRawSize(rawSize)
                .setRaw(raw == null ? null : ByteBuffer.wrap(raw))
                .setQuarantinedAtMs(nowMs)
                .build();
        // Never a null key: Flink's tuple serializer cannot copy one. A record naming no model (or no
        // usable one) is keyed by its coordinates.
        return OutboundRecord.of(deadLetterTopic,
                utf8(modelKey.isEmpty() || modelKey.length() > MAX_ID_CHARS
                        ? topic + "/" + partition + "@" + offset : modelKey),
                WireCodec.DEAD_LETTER.encode(letter));
    }

    Tuple3<String, byte[], byte[]> status(String modelId, String publishId, long step, long version,
            long contentVersion, VersionState state, long bytes, long durationMs, String message, long nowMs) {
        WorkerStatus status = WorkerStatus.newBuilder()
                .setModelId(modelId)
                .setWorker(JOB_WORKER)
                .setVersion(version)
                .setContentVersion(contentVersion)
                .setStep(step)
                .setPublishId(clip(publishId))
                .setState(state)
                .setBytes(bytes)
                .setDurationMs(durationMs)
                .setTimestampMs(nowMs)
                .setMessage(clip(message))
                .build();
        return OutboundRecord.of(statusTopic, utf8(modelId + "/" + JOB_WORKER),
                WireCodec.STATUS.encode(status));
    }

    static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** Text a record chose, cut so that the record quoting it stays far below Kafka's record size limit. */
    private static String clip(String text) {
        return text == null || text.length() <= MAX_TEXT_CHARS
                ? text : text.substring(0, MAX_TEXT_CHARS) + "...";
    }

    private static String emptyToNull(String text) {
        return text.isEmpty() ? null : text;
    }
}
