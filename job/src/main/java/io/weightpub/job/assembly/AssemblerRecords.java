package io.weightpub.job.assembly;

import io.weightpub.job.source.InputRecord;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WorkerStatus;

import org.apache.flink.api.java.tuple.Tuple3;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Builds the assembler's dead-letter and status records for the job's output topics. */
final class AssemblerRecords {

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
        DeadLetter letter = DeadLetter.newBuilder()
                .setTopic(record.topic())
                .setPartition(record.partition())
                .setOffset(record.offset())
                .setRecordTimestampMs(record.timestamp())
                .setModelId(clip(modelId != null ? modelId : emptyToNull(record.modelKey())))
                .setStep(step)
                .setPublishId(clip(publishId))
                .setBucketIndex(bucketIndex)
                .setChunkIndex(chunkIndex)
                .setReason(clip(reason))
                .setRawSize(raw == null ? 0 : raw.length)
                .setRaw(raw != null && raw.length <= deadLetterMaxRawBytes ? ByteBuffer.wrap(raw) : null)
                .setQuarantinedAtMs(nowMs)
                .build();
        // Never a null key: Flink's tuple serializer cannot copy one. A record naming no model (or no
        // usable one) is keyed by its coordinates.
        String model = record.modelKey();
        return OutboundRecord.of(deadLetterTopic,
                utf8(model.isEmpty() || model.length() > VersionAssembler.MAX_ID_CHARS ? record.coordinates() : model),
                WireCodec.DEAD_LETTER.encode(letter));
    }

    Tuple3<String, byte[], byte[]> status(String modelId, String publishId, long step, long version,
            long contentVersion, VersionState state, long bytes, long durationMs, String message, long nowMs) {
        WorkerStatus status = WorkerStatus.newBuilder()
                .setModelId(modelId)
                .setWorker(VersionAssembler.JOB_WORKER)
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
        return OutboundRecord.of(statusTopic, utf8(modelId + "/" + VersionAssembler.JOB_WORKER),
                WireCodec.STATUS.encode(status));
    }

    static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** Text a record chose, cut so that the record quoting it stays far below Kafka's record size limit. */
    private static String clip(String text) {
        return text == null || text.length() <= VersionAssembler.MAX_TEXT_CHARS
                ? text : text.substring(0, VersionAssembler.MAX_TEXT_CHARS) + "...";
    }

    private static String emptyToNull(String text) {
        return text.isEmpty() ? null : text;
    }
}
