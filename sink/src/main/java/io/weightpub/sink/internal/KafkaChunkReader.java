package io.weightpub.sink.internal;

import io.weightpub.schemas.ChunkView;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.WireFormatException;
import org.apache.flink.annotation.Internal;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Re-reads the chunks of one publish from the chunks topic by their offset ranges (from the
 * version index or the writer's state): one consumer assigned to every partition of the ranges,
 * {@code read_committed}, large fetches, each payload handed over in place in the record's value.
 * It checks first that every range is still in the log, so a caller can give up before it changes
 * anything.
 */
@Internal
public final class KafkaChunkReader {

    private static final Duration POLL = Duration.ofMillis(200);

    private final Properties consumerProperties;
    private final Duration stallTimeout;

    /**
     * @param consumerProperties Kafka consumer settings, bootstrap servers included
     * @param stallTimeout how long a replay may go without receiving a record before it fails
     */
    public KafkaChunkReader(Properties consumerProperties, Duration stallTimeout) {
        this.consumerProperties = new Properties();
        this.consumerProperties.putAll(consumerProperties);
        // Never a group (offsets are the index's), never a silent jump when offsets are gone.
        this.consumerProperties.remove(ConsumerConfig.GROUP_ID_CONFIG);
        this.consumerProperties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        this.consumerProperties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        this.consumerProperties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        this.stallTimeout = stallTimeout;
    }

    /** Receives each chunk of the publish; the chunk holder is reused, its payload valid during the call. */
    @FunctionalInterface
    public interface ChunkHandler {
        void chunk(ChunkView chunk, int partition, long offset) throws ReplayException;
    }

    /**
     * What a replay read: records scanned, chunks of the publish handed over, their payload bytes, the
     * time taken, and the copies of chunks skipped (later copies, and copies whose CRC32C did not match).
     */
    public record Stats(long records, long chunks, long payloadBytes, long nanos, long skippedCopies) {
        public double megabytesPerSecond() {
            return nanos == 0 ? 0 : payloadBytes / 1e6 / (nanos / 1e9);
        }
    }

    /**
     * Opens a consumer on {@code ranges} and checks that each is still in the log and readable.
     *
     * @throws ReplayException naming every range (topic, partition, offsets) that is not
     */
    public Replay open(String modelId, String publishId, long versionBytes, List<KafkaOffsetRange> ranges)
            throws ReplayException {
        String what = "publish " + publishId + " of model " + modelId;
        if (ranges.isEmpty()) {
            throw new ReplayException(what + ": the version index names no chunk offsets");
        }
        Map<TopicPartition, long[]> spans = new LinkedHashMap<>();
        for (KafkaOffsetRange range : ranges) {
            if (range.getFirstOffset() < 0 || range.getLastOffset() < range.getFirstOffset()) {
                throw new ReplayException(what + ": offset range " + describe(range) + " is empty or negative");
            }
            spans.merge(new TopicPartition(range.getTopic(), range.getPartition()),
                    new long[] {range.getFirstOffset(), range.getLastOffset()},
                    (a, b) -> new long[] {Math.min(a[0], b[0]), Math.max(a[1], b[1])});
        }
        KafkaConsumer<byte[], byte[]> consumer;
        try {
            consumer = new KafkaConsumer<>(consumerProperties, new ByteArrayDeserializer(),
                    new ByteArrayDeserializer());
        } catch (KafkaException e) {
            throw new ReplayException(what + ": cannot create a Kafka consumer: " + e.getMessage(), e);
        }
        try {
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(spans.keySet(), stallTimeout);
            Map<TopicPartition, Long> end = consumer.endOffsets(spans.keySet(), stallTimeout);
            List<String> missing = new ArrayList<>();
            spans.forEach((tp, span) -> {
                long logStart = begin.getOrDefault(tp, Long.MAX_VALUE);
                long readableEnd = end.getOrDefault(tp, -1L);
                if (logStart > span[0]) {
                    missing.add(tp + " offsets " + span[0] + ".." + Math.min(span[1], logStart - 1)
                            + " were deleted (retention; the log now starts at " + logStart + ")");
                } else if (readableEnd <= span[1]) {
                    missing.add(tp + " offsets " + Math.max(span[0], readableEnd) + ".." + span[1]
                            + " are beyond the readable end " + readableEnd);
                }
            });
            if (!missing.isEmpty()) {
                throw new ReplayException(what + " is no longer in Kafka: " + String.join("; ", missing));
            }
            consumer.assign(spans.keySet());
            spans.forEach((tp, span) -> consumer.seek(tp, span[0]));
            return new Replay(consumer, modelId, publishId, versionBytes, spans);
        } catch (ReplayException e) {
            consumer.close();
            throw e;
        } catch (KafkaException e) {
            consumer.close();
            throw new ReplayException(what + ": Kafka did not give the offsets of " + spans.keySet() + ": " + e, e);
        }
    }

    private static String describe(KafkaOffsetRange range) {
        return range.getTopic() + "-" + range.getPartition() + " " + range.getFirstOffset() + ".."
                + range.getLastOffset();
    }

    /** An open replay: its consumer is positioned at the first offset of every partition. */
    public final class Replay implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final String modelId;
        private final String publishId;
        private final long versionBytes;
        private final Map<TopicPartition, long[]> spans;

        private Replay(KafkaConsumer<byte[], byte[]> consumer, String modelId, String publishId, long versionBytes,
                Map<TopicPartition, long[]> spans) {
            this.consumer = consumer;
            this.modelId = modelId;
            this.publishId = publishId;
            this.versionBytes = versionBytes;
            this.spans = spans;
        }

        /**
         * Reads every range to its last offset and hands each chunk of the publish to {@code handler}
         * once, by the rule live assembly applied: the first copy of a (bucket, chunk) with a matching
         * CRC32C is the chunk; later copies (producer retries, re-sends, even corrupt ones) are skipped
         * unchecked, as the job dropped them. Records of other publishes in the ranges are skipped.
         *
         * @throws ReplayException when a chunk has no copy with a matching CRC32C (naming the first bad
         *     copy), or a chunk does not fit the version
         */
        public Stats readInto(ChunkHandler handler) throws ReplayException {
            long start = System.nanoTime();
            CRC32C crc = new CRC32C();
            Set<TopicPartition> open = new HashSet<>(spans.keySet());
            long records = 0;
            long chunks = 0;
            long bytes = 0;
            long skippedCopies = 0;
            Set<Long> staged = new HashSet<>();
            // Chunks seen only with a wrong CRC so far (a later good copy may still come), with the first one's problem.
            Map<Long, String> corrupt = new LinkedHashMap<>();
            long lastProgress = System.nanoTime();
            try {
                while (!open.isEmpty()) {
                    ConsumerRecords<byte[], byte[]> polled = consumer.poll(POLL);
                    for (TopicPartition tp : polled.partitions()) {
                        long last = spans.get(tp)[1];
                        for (ConsumerRecord<byte[], byte[]> record : polled.records(tp)) {
                            if (record.offset() > last) {
                                break;
                            }
                            records++;
                            ChunkView chunk = record.value() == null ? null : parse(record);
                            if (chunk == null || !chunk.modelId().equals(modelId)
                                    || !chunk.publishId().equals(publishId)) {
                                continue;
                            }
                            long key = ((long) chunk.bucketIndex() << 32) | (chunk.chunkIndex() & 0xffffffffL);
                            if (staged.contains(key)) {
                                skippedCopies++;
                                continue;
                            }
                            String crcProblem = crcProblem(chunk, record, crc);
                            if (crcProblem != null) {
                                corrupt.putIfAbsent(key, crcProblem);
                                skippedCopies++;
                                continue;
                            }
                            checkFits(chunk, record);
                            staged.add(key);
                            corrupt.remove(key);
                            handler.chunk(chunk, record.partition(), record.offset());
                            chunks++;
                            bytes += chunk.payloadLength();
                        }
                    }
                    boolean progressed = !polled.isEmpty();
                    for (TopicPartition tp : List.copyOf(open)) {
                        if (consumer.position(tp) > spans.get(tp)[1]) {
                            open.remove(tp);
                            consumer.pause(List.of(tp));
                            progressed = true;
                        }
                    }
                    if (progressed) {
                        lastProgress = System.nanoTime();
                    } else if (System.nanoTime() - lastProgress > stallTimeout.toNanos()) {
                        List<String> at = new ArrayList<>();
                        open.forEach(tp -> at.add(tp + " at offset " + consumer.position(tp) + " of .."
                                + spans.get(tp)[1]));
                        throw new ReplayException("publish " + publishId + " of model " + modelId + ": no record "
                                + "from Kafka for " + stallTimeout + " while re-reading " + at);
                    }
                }
            } catch (KafkaException e) {
                throw new ReplayException("publish " + publishId + " of model " + modelId + ": reading "
                        + spans.keySet() + " from Kafka failed: " + e, e);
            }
            if (!corrupt.isEmpty()) {
                throw new ReplayException(corrupt.values().iterator().next() + (corrupt.size() == 1 ? ""
                        : " (and " + (corrupt.size() - 1) + " more chunks without a copy whose CRC32C matches)"));
            }
            return new Stats(records, chunks, bytes, System.nanoTime() - start, skippedCopies);
        }

        /** The record's chunk, or null for a record that does not decode. */
        private ChunkView parse(ConsumerRecord<byte[], byte[]> record) {
            try {
                return ChunkView.parse(record.value());
            } catch (WireFormatException e) {
                // The job quarantines such records; inside a version's range they are not this publish's.
                return null;
            }
        }

        private static String where(ChunkView chunk, ConsumerRecord<byte[], byte[]> record) {
            return "bucket " + chunk.bucketIndex() + " chunk " + chunk.chunkIndex() + " of publish "
                    + chunk.publishId() + " of model " + chunk.modelId() + " at " + record.topic() + "-"
                    + record.partition() + " offset " + record.offset();
        }

        /** What is wrong with the copy's CRC32C, or null when it matches its payload. */
        private static String crcProblem(ChunkView chunk, ConsumerRecord<byte[], byte[]> record, CRC32C crc) {
            crc.reset();
            crc.update(chunk.payload(), chunk.payloadOffset(), chunk.payloadLength());
            if ((int) crc.getValue() == chunk.crc32c()) {
                return null;
            }
            return String.format("%s: CRC32C mismatch: the record says %08x, its %d payload bytes have %08x",
                    where(chunk, record), chunk.crc32c(), chunk.payloadLength(), (int) crc.getValue());
        }

        private void checkFits(ChunkView chunk, ConsumerRecord<byte[], byte[]> record) throws ReplayException {
            if (chunk.versionBytes() != versionBytes || chunk.chunkOffset() < 0 || chunk.bucketOffset() < 0
                    || chunk.versionOffset() < 0 || chunk.versionOffset() + chunk.payloadLength() > versionBytes) {
                throw new ReplayException(where(chunk, record) + ": bytes [" + chunk.versionOffset() + ", "
                        + (chunk.versionOffset() + chunk.payloadLength()) + ") of a " + chunk.versionBytes()
                        + "-byte version do not fit the expected " + versionBytes + " bytes");
            }
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
