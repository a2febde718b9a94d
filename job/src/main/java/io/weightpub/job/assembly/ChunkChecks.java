package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.source.InputRecord;
import io.weightpub.schemas.ChunkView;
import io.weightpub.schemas.WireFormatException;

import org.apache.flink.api.java.tuple.Tuple3;

import java.util.zip.CRC32C;

/**
 * What a {@link ChunkChecker} does with one input record, without state: a chunk is decoded, its
 * Kafka key compared with its model, every number it declares checked against the limits and
 * against each other ({@link PublishChecks#chunkAlone}) and its payload's CRC32C computed. A good
 * chunk becomes a stage event for the workers (its payload a slice of the record's value, not
 * copied) and a {@link ChunkReceipt} for the coordinator; a bad one a dead letter, and a receipt
 * saying why when it names a publish the coordinator must fail. Manifests and control records pass
 * through to the coordinator; a record whose key names an over-long model id is dead-lettered.
 */
final class ChunkChecks {

    /** What to emit for one record; any field may be null. The stage event goes out before the rest. */
    record Checked(WeightEvent stage, ChunkReceipt receipt, InputRecord passThrough,
            Tuple3<String, byte[], byte[]> deadLetter) {}

    private final PublishChecks checks;
    private final AssemblerRecords records;

    ChunkChecks(PublishChecks checks, AssemblerRecords records) {
        this.checks = checks;
        this.records = records;
    }

    Checked check(InputRecord record, long nowMs) {
        if (record.modelKey().length() > AssemblerRecords.MAX_ID_CHARS) {
            // Model ids key the coordinators' state and every output record: one must fit a Kafka record.
            return refused(record, null, "Kafka key names a model id of " + record.modelKey().length()
                    + " characters; at most " + AssemblerRecords.MAX_ID_CHARS, nowMs);
        }
        if (record.kind() != InputRecord.Kind.CHUNK) {
            return new Checked(null, null, record, null);
        }
        ChunkView chunk;
        try {
            chunk = ChunkView.parse(record.value());
        } catch (WireFormatException e) {
            return refused(record, null, "chunk record does not decode: " + e.getMessage(), nowMs);
        }
        if (!chunk.modelId().equals(record.modelKey())) {
            return refused(record, chunk, "Kafka key names model '" + record.modelKey()
                    + "' but the chunk names model '" + chunk.modelId() + "'", nowMs);
        }
        ChunkReceipt receipt = ChunkReceipt.of(chunk, record);
        String problem = checks.chunkAlone(receipt).orElse(null);
        if (problem != null) {
            return new Checked(null, receipt.refused(problem, false), null,
                    letter(record, chunk, problem, nowMs));
        }
        int crc = crc32c(chunk);
        if (crc != chunk.crc32c()) {
            String mismatch = String.format("CRC32C mismatch: the record says %08x, its %d payload bytes have %08x "
                            + "(if it duplicates a chunk already staged, the staged copy stands)",
                    chunk.crc32c(), chunk.payloadLength(), crc);
            return new Checked(null, receipt.refused(mismatch, true), null, letter(record, chunk, mismatch, nowMs));
        }
        WeightEvent stage = WeightEvent.stageChunk(chunk.modelId(), chunk.publishId(), chunk.step(),
                chunk.versionBytes(), chunk.versionOffset(), chunk.bucketIndex(), chunk.chunkIndex(),
                record.partition(), record.offset(), chunk.payload(), chunk.payloadOffset(), chunk.payloadLength());
        return new Checked(stage, receipt, null, null);
    }

    private Checked refused(InputRecord record, ChunkView chunk, String reason, long nowMs) {
        return new Checked(null, null, null, letter(record, chunk, reason, nowMs));
    }

    private Tuple3<String, byte[], byte[]> letter(InputRecord record, ChunkView chunk, String reason, long nowMs) {
        return chunk == null
                ? records.deadLetter(record, null, null, null, null, null, reason, nowMs)
                : records.deadLetter(record, chunk.modelId(), chunk.step(), chunk.publishId(), chunk.bucketIndex(),
                        chunk.chunkIndex(), reason, nowMs);
    }

    private static int crc32c(ChunkView chunk) {
        CRC32C crc = new CRC32C();
        crc.update(chunk.payload(), chunk.payloadOffset(), chunk.payloadLength());
        return (int) crc.getValue();
    }
}
