package io.weightpub.ops;

import io.weightpub.ops.internal.TopicScan;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Reads the version index the job writes to {@code <prefix>.versions} (compacted, keyed
 * {@code model/version}): the whole topic to its end, the latest entry per key, and whether each
 * version's chunk ranges are still in the chunks topic (its first offset not below the
 * partition's log start offset, its last offset below the partition's end).
 */
@PublicEvolving
public final class VersionIndexReader {

    private final KafkaConnection connection;
    private final TopicNames topics;

    public VersionIndexReader(KafkaConnection connection, TopicNames topics) {
        this.connection = connection;
        this.topics = topics;
    }

    /** Every model's versions. */
    public VersionIndex read() {
        return read(Optional.empty());
    }

    /** The versions of {@code model} only, or of every model when empty. */
    public VersionIndex read(Optional<String> model) {
        Map<String, VersionIndexEntry> latest = new LinkedHashMap<>();
        List<SkippedRecord> skipped = new ArrayList<>();
        try (Consumer<byte[], byte[]> consumer = connection.consumer()) {
            TopicScan.readToEnd(consumer, topics.versions(), connection.timeout(),
                    (partition, record) -> collect(record, latest, skipped));
        }
        List<VersionIndexEntry> entries = latest.values().stream()
                .filter(e -> model.isEmpty() || e.getModelId().equals(model.get()))
                .toList();
        Map<TopicPartition, LogBounds> logBounds = logBounds(entries);
        List<IndexedVersion> versions = new ArrayList<>();
        for (VersionIndexEntry entry : entries) {
            versions.add(info(entry, logBounds));
        }
        return new VersionIndex(topics.versions(), versions, skipped);
    }

    private static void collect(ConsumerRecord<byte[], byte[]> record, Map<String, VersionIndexEntry> latest,
            List<SkippedRecord> skipped) {
        if (record.key() == null) {
            skipped.add(SkippedRecord.of(record, "no key, expected model/version"));
            return;
        }
        String key = new String(record.key(), StandardCharsets.UTF_8);
        if (record.value() == null) {
            latest.remove(key); // a tombstone: the job dropped the entry
            return;
        }
        VersionIndexEntry entry;
        try {
            entry = WireCodec.VERSION_INDEX.decode(record.value());
        } catch (WireFormatException e) {
            skipped.add(SkippedRecord.of(record, "VersionIndexEntry does not decode: " + e.getMessage()));
            return;
        }
        String expectedKey = entry.getModelId() + "/" + entry.getVersion();
        if (!expectedKey.equals(key)) {
            skipped.add(SkippedRecord.of(record, "key '" + key + "' does not match the entry's " + expectedKey));
            return;
        }
        latest.put(key, entry);
    }

    /** Where a partition's log starts and ends now, or why that is unknown. */
    private record LogBounds(long start, long end, String unknownBecause) {
    }

    /** The log bounds of every partition the entries point into. */
    private Map<TopicPartition, LogBounds> logBounds(List<VersionIndexEntry> entries) {
        Set<TopicPartition> partitions = new HashSet<>();
        for (VersionIndexEntry entry : entries) {
            for (KafkaOffsetRange range : entry.getChunkRanges()) {
                partitions.add(new TopicPartition(range.getTopic(), range.getPartition()));
            }
        }
        Map<TopicPartition, LogBounds> bounds = new HashMap<>();
        if (partitions.isEmpty()) {
            return bounds;
        }
        Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (TopicPartition partition : partitions) {
            earliest.put(partition, OffsetSpec.earliest());
            latest.put(partition, OffsetSpec.latest());
        }
        try (Admin admin = connection.admin()) {
            ListOffsetsResult starts = admin.listOffsets(earliest);
            ListOffsetsResult ends = admin.listOffsets(latest);
            for (TopicPartition partition : partitions) {
                try {
                    long start = starts.partitionResult(partition).get(connection.timeout().toMillis(),
                            TimeUnit.MILLISECONDS).offset();
                    long end = ends.partitionResult(partition).get(connection.timeout().toMillis(),
                            TimeUnit.MILLISECONDS).offset();
                    bounds.put(partition, new LogBounds(start, end, null));
                } catch (ExecutionException e) {
                    // A deleted topic or partition: its ranges count as not retained.
                    bounds.put(partition, new LogBounds(-1, -1, e.getCause().toString()));
                } catch (TimeoutException e) {
                    bounds.put(partition, new LogBounds(-1, -1, "no answer within " + connection.timeout()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new OpsException("interrupted while listing offsets of " + partition, e);
                }
            }
        }
        return bounds;
    }

    private static IndexedVersion info(VersionIndexEntry entry, Map<TopicPartition, LogBounds> logBounds) {
        List<String> evicted = new ArrayList<>();
        for (KafkaOffsetRange range : entry.getChunkRanges()) {
            TopicPartition partition = new TopicPartition(range.getTopic(), range.getPartition());
            LogBounds bounds = logBounds.get(partition);
            String where = partition + " offsets " + range.getFirstOffset() + ".." + range.getLastOffset();
            if (bounds.unknownBecause() != null) {
                evicted.add(where + ": the partition cannot be read (" + bounds.unknownBecause() + ")");
            } else if (range.getFirstOffset() < bounds.start()) {
                evicted.add(where + ": the log now starts at " + bounds.start());
            } else if (range.getLastOffset() >= bounds.end()) {
                evicted.add(where + ": the log now ends at " + bounds.end() + " (was the topic recreated?)");
            }
        }
        return new IndexedVersion(
                entry.getModelId(),
                entry.getVersion(),
                entry.getContentVersion(),
                entry.getStep(),
                entry.getPublishId(),
                entry.getTotalBytes(),
                hex(entry.getManifestSha256()),
                entry.getCompletedAtMs(),
                entry.getReason(),
                evicted.isEmpty(),
                evicted,
                entry.getKeyId());
    }

    private static String hex(ByteBuffer buffer) {
        ByteBuffer copy = buffer.duplicate();
        byte[] bytes = new byte[copy.remaining()];
        copy.get(bytes);
        return HexFormat.of().formatHex(bytes);
    }
}
