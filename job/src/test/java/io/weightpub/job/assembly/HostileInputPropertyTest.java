package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.source.InputRecord;
import io.weightpub.job.source.InputRecordDeserializer;
import io.weightpub.job.testutils.HostileRecords.Expect;
import io.weightpub.job.testutils.HostileRecords.Hostile;
import io.weightpub.job.testutils.HostileRecords.Raw;
import io.weightpub.job.testutils.HostileRecords;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.WorkerStatus;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Property: whatever hostile records reach the chunk checker and the version coordinator (chunks,
 * manifests, control records, odd Kafka keys and values, duplicated and reordered publishes), no
 * exception escapes them, no record
 * makes it allocate or keep state in proportion to a number the record claims, every bad record is
 * dead-lettered exactly once with its topic, partition and offset, and a valid version published
 * after the batch is committed with its manifest's bucket digests. A chunk the checker stages counts
 * as staged unless its publish is aborted on the workers. Each try is a fresh {@link
 * PipelineHarness}: a baseline version, {@value #BATCH} hostile items, then the valid version. jqwik reports the seed of a failing try; {@code -Dhostile.survey=true} records every
 * violation of a run instead of stopping at the first failing try.
 */
class HostileInputPropertyTest {

    private static final TopicNames TOPICS = TopicNames.of("hostile");
    private static final long TIMEOUT_MS = 60_000;
    private static final int TRIES = 40;
    private static final int BATCH = 60;
    private static final int PARTITIONS = 3;
    /** Per record: a fixed allowance plus a few copies of its key and value (decoding, the dead letter). */
    private static final long ALLOCATION_BOUND = (1 << 20);
    /** Checkpointed state after a batch: a fixed allowance plus a few KB per record actually seen. */
    private static final long STATE_BASE = 64 * 1024;
    private static final long STATE_PER_RECORD = 4 * 1024;
    private static final boolean SURVEY = Boolean.getBoolean("hostile.survey");

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final TypeSerializer<Tuple3<String, byte[], byte[]>> OUTBOUND_SERIALIZER =
            OutboundRecord.TYPE_INFO.createSerializer(new SerializerConfigImpl());
    private static final AtomicLong TRIED = new AtomicLong();
    private static final AtomicLong QUARANTINED = new AtomicLong();
    private static final AtomicLong DUPLICATES = new AtomicLong();
    private static final AtomicLong UNREFUTED_ABORTED = new AtomicLong();
    private static final AtomicLong CRASHES = new AtomicLong();
    private static final AtomicLong MAX_STATE = new AtomicLong();
    private static final AtomicLong MAX_ALLOCATED = new AtomicLong();
    private static final long STARTED = System.nanoTime();
    private static final Map<String, String> VIOLATIONS = new TreeMap<>();

    @Property(tries = TRIES)
    void hostileChunksAreEachDeadLetteredOnceAndTheNextVersionCompletes(@ForAll("chunks") List<Hostile> batch)
            throws Exception {
        new Run().play(batch);
    }

    @Property(tries = TRIES)
    void hostileManifestsAreEachDeadLetteredOnceAndTheNextVersionCompletes(@ForAll("manifests") List<Hostile> batch)
            throws Exception {
        new Run().play(batch);
    }

    @Property(tries = TRIES)
    void hostileControlRecordsAreDeadLetteredOrAnsweredAndTheNextVersionCompletes(
            @ForAll("controls") List<Hostile> batch) throws Exception {
        new Run().play(batch);
    }

    @Property(tries = TRIES)
    void recordsWithOddKafkaKeysOrNullValuesAreEachDeadLetteredOnce(@ForAll("keysAndValues") List<Hostile> batch)
            throws Exception {
        new Run().play(batch);
    }

    @Property(tries = TRIES / 2)
    void duplicatedReorderedAndLyingPublishesNeverBlockTheNextVersion(@ForAll("publishes") List<Hostile> batch)
            throws Exception {
        new Run().play(batch);
    }

    @Provide
    Arbitrary<List<Hostile>> chunks() {
        return HostileRecords.chunks().list().ofSize(BATCH);
    }

    @Provide
    Arbitrary<List<Hostile>> manifests() {
        return HostileRecords.manifests().list().ofSize(BATCH);
    }

    @Provide
    Arbitrary<List<Hostile>> controls() {
        return HostileRecords.controls().list().ofSize(BATCH);
    }

    @Provide
    Arbitrary<List<Hostile>> keysAndValues() {
        return net.jqwik.api.Arbitraries.oneOf(List.of(HostileRecords.keysAndValues(), HostileRecords.emptyValues()))
                .list().ofSize(BATCH);
    }

    @Provide
    Arbitrary<List<Hostile>> publishes() {
        return net.jqwik.api.Arbitraries.oneOf(List.of(HostileRecords.validPublishes(), HostileRecords.chunks()))
                .list().ofSize(BATCH / 4);
    }

    @AfterContainer
    static void report() {
        System.out.printf("hostile-input suite: %d records tried, %d quarantined, %d duplicates dropped, %d "
                        + "unrefuted then aborted at the timeout, %d crashes, max state %d bytes, max allocation per "
                        + "record %d bytes, %.1f s%n", TRIED.get(), QUARANTINED.get(), DUPLICATES.get(),
                UNREFUTED_ABORTED.get(), CRASHES.get(), MAX_STATE.get(), MAX_ALLOCATED.get(),
                (System.nanoTime() - STARTED) / 1e9);
        synchronized (VIOLATIONS) {
            VIOLATIONS.forEach((kind, example) -> System.out.println("  violation " + kind + "\n      e.g. " + example));
        }
    }

    /** One try: a fresh operator, a baseline version, the hostile batch, then a valid version. */
    private static final class Run implements HostileRecords.Fresh {
        private final PipelineHarness harness;
        private final InputRecordDeserializer deserializer = new InputRecordDeserializer(TOPICS);
        private final long[] nextOffset = new long[3 * PARTITIONS];
        private final List<String> violations = new ArrayList<>();
        /** Publish ids of records that passed as {@link Expect#UNREFUTED_UNTIL_TIMEOUT}, with their item. */
        private final Map<String, String> unrefuted = new TreeMap<>();
        /** Publishes aborted on the workers so far: their chunks are dropped there. */
        private final java.util.Set<String> aborted = new java.util.HashSet<>();
        private long step = 1000;
        private int publishes;
        private int recordsSeen;

        Run() throws Exception {
            harness = new PipelineHarness(TOPICS, TIMEOUT_MS, 8, 1024);
            harness.open();
        }

        @Override
        public String publishId() {
            return "hostile-" + (++publishes);
        }

        @Override
        public long step() {
            return ++step;
        }

        void play(List<Hostile> batch) throws Exception {
            try {
                expectCommitted(RandomPublish.create(HostileRecords.MODEL, 100, 1, 3, 2000, 2048, 256), "baseline");
                for (Hostile hostile : batch) {
                    if (!feedAll(hostile)) {
                        break;
                    }
                }
                if (violations.isEmpty()) {
                    checkState(1, batch);
                    // Every hostile publish left in flight times out; the timer must survive what it finds.
                    harness.setProcessingTime(TIMEOUT_MS + 1);
                    checkAbortedAtTimeout(drain());
                    checkState(2, batch);
                    expectCommitted(RandomPublish.create(HostileRecords.MODEL, step() + 1, 2, 5, 3000, 4096, 512),
                            "the valid version after the batch");
                }
            } catch (Throwable t) {
                CRASHES.incrementAndGet();
                violation("crash", "exception escaped the operator: " + t, batch.toString());
            } finally {
                harness.close();
            }
            if (!violations.isEmpty() && !SURVEY) {
                throw new AssertionError(violations.size() + " violations, first: " + violations.get(0));
            }
        }

        private void checkState(long checkpoint, List<Hostile> batch) throws Exception {
            long state = harness.snapshot(checkpoint, checkpoint).getStateSize();
            MAX_STATE.accumulateAndGet(state, Math::max);
            if (state > STATE_BASE + STATE_PER_RECORD * recordsSeen) {
                violation("state", String.format("%d bytes of checkpointed state after %d records (bound %d)",
                        state, recordsSeen, STATE_BASE + STATE_PER_RECORD * recordsSeen), batch.toString());
            }
        }

        /** A lie that passed must not outlive its publish: the timeout aborts it, workers included. */
        private void checkAbortedAtTimeout(Outputs outputs) {
            unrefuted.forEach((publishId, hostile) -> {
                boolean status = outputs.statuses.stream().anyMatch(s -> s.getPublishId().equals(publishId)
                        && s.getState() == VersionState.ABORTED);
                boolean event = outputs.events.stream().anyMatch(e -> e.kind() == WeightEvent.Kind.ABORT_VERSION
                        && e.publishId().equals(publishId));
                if (!status || !event) {
                    violation("unrefuted lie not aborted at the timeout", "publish " + publishId + ": ABORTED status "
                            + status + ", ABORT_VERSION event " + event, hostile);
                } else {
                    UNREFUTED_ABORTED.incrementAndGet();
                }
            });
        }

        /** Feeds one hostile item's records; false when the operator can no longer be trusted. */
        private boolean feedAll(Hostile hostile) throws WireFormatException {
            for (Raw raw : hostile.make().apply(this)) {
                InputRecord record = toInputRecord(raw);
                TRIED.incrementAndGet();
                recordsSeen++;
                long before = THREADS.getCurrentThreadAllocatedBytes();
                try {
                    harness.processElement(new StreamRecord<>(record));
                } catch (Throwable t) {
                    CRASHES.incrementAndGet();
                    violation("crash", "exception escaped the operator: " + t, hostile + " at " + record);
                    return false;
                }
                long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
                MAX_ALLOCATED.accumulateAndGet(allocated, Math::max);
                Outputs outputs = drain();
                long size = record.valueSize() + (raw.key() == null ? 0 : raw.key().length);
                if (allocated > ALLOCATION_BOUND + 8L * size) {
                    violation("allocation", allocated + " bytes allocated for one record of " + size
                            + " bytes (key and value)", hostile + " at " + record);
                    return false;
                }
                check(hostile, raw, record, outputs);
            }
            return true;
        }

        private void check(Hostile hostile, Raw raw, InputRecord record, Outputs outputs)
                throws WireFormatException {
            List<DeadLetter> letters = outputs.deadLetters;
            if (raw.expect() == Expect.REFUSED) {
                if (letters.size() > 1 || outputs.stagedChunks > 0 && !letters.isEmpty()) {
                    violation("refused record answered wrongly", letters.size() + " dead letters, "
                            + outputs.stagedChunks + " chunk(s) staged", hostile + " at " + record);
                }
                QUARANTINED.addAndGet(letters.size());
            } else if (raw.expect() == Expect.UNREFUTED_UNTIL_TIMEOUT && letters.isEmpty()) {
                unrefuted.put(WireCodec.CHUNK.decode(raw.value()).getPublishId(), hostile + " at " + record);
            } else if (raw.expect() == Expect.DEAD_LETTER || raw.expect() == Expect.UNREFUTED_UNTIL_TIMEOUT) {
                if (letters.size() != 1) {
                    violation("not dead-lettered once", letters.size() + " dead letters"
                            + (outputs.stagedChunks > 0 ? ", " + outputs.stagedChunks + " chunk(s) staged" : "")
                            + (outputs.statuses.isEmpty() ? "" : ", status " + outputs.statuses.get(0).getState()
                                    + " " + outputs.statuses.get(0).getMessage()), hostile + " at " + record);
                    return;
                }
                DeadLetter letter = letters.get(0);
                if (!letter.getTopic().equals(record.topic()) || letter.getPartition() != record.partition()
                        || letter.getOffset() != record.offset() || letter.getReason().isBlank()) {
                    violation("dead letter does not name its record", letter.getTopic() + "/" + letter.getPartition()
                            + "@" + letter.getOffset() + ": " + letter.getReason(), hostile + " at " + record);
                    return;
                }
                if (outputs.stagedChunks > 0) {
                    violation("staged and dead-lettered", "a dead-lettered chunk reached the sink",
                            hostile + " at " + record);
                }
                QUARANTINED.incrementAndGet();
            } else if (!letters.isEmpty()) {
                violation("valid record dead-lettered", letters.get(0).getReason(), hostile + " at " + record);
            } else if (raw.expect() == Expect.STATUS_ONLY && outputs.statuses.size() != 1) {
                violation("command not answered once", outputs.statuses.size() + " status records",
                        hostile + " at " + record);
            } else if (raw.expect() == Expect.VALID && outputs.isEmpty()) {
                DUPLICATES.incrementAndGet();
            }
        }

        private void expectCommitted(RandomPublish version, String what) throws Exception {
            List<WeightEvent> events = new ArrayList<>();
            List<VersionIndexEntry> index = new ArrayList<>();
            List<WorkerStatus> statuses = new ArrayList<>();
            for (WeightChunk chunk : version.chunks()) {
                Outputs outputs = feedValid(HostileRecords.chunkRaw(chunk, Expect.VALID, what));
                events.addAll(outputs.events);
                statuses.addAll(outputs.statuses);
            }
            Outputs last = feedValid(new Raw(InputRecord.Kind.MANIFEST,
                    HostileRecords.MODEL.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    WireCodec.MANIFEST.encode(version.manifest()), Expect.VALID, what));
            events.addAll(last.events);
            index.addAll(last.index);
            statuses.addAll(last.statuses);
            boolean committed = events.stream().anyMatch(e -> e.kind() == WeightEvent.Kind.COMMIT_VERSION
                    && e.publishId().equals(version.publishId()));
            List<ByteBuffer> digests = version.manifest().getBuckets().stream().map(BucketInfo::getSha256).toList();
            boolean indexed = index.stream().anyMatch(e -> e.getPublishId().equals(version.publishId())
                    && e.getBucketSha256().equals(digests) && e.getTotalBytes() == version.totalBytes());
            boolean completed = statuses.stream().anyMatch(s -> s.getPublishId().equals(version.publishId())
                    && s.getState() == VersionState.COMPLETED);
            if (!committed || !indexed || !completed) {
                violation("valid version not completed", what + " (step " + version.step() + "): committed "
                        + committed + ", indexed " + indexed + ", statuses " + statuses.stream()
                        .map(s -> s.getState() + " " + s.getMessage()).toList(), "");
            }
        }

        private Outputs feedValid(Raw raw) throws Exception {
            harness.processElement(new StreamRecord<>(toInputRecord(raw)));
            return drain();
        }

        /** The record as the job's Kafka source makes it, key parsing included. */
        private InputRecord toInputRecord(Raw raw) {
            int topicIndex = raw.kind().ordinal();
            String topic = topicIndex == 0 ? TOPICS.chunks() : topicIndex == 1 ? TOPICS.manifests() : TOPICS.control();
            int partition = recordsSeen % PARTITIONS;
            long offset = nextOffset[topicIndex * PARTITIONS + partition]++;
            List<InputRecord> out = new ArrayList<>(1);
            deserializer.deserialize(new ConsumerRecord<>(topic, partition, offset, raw.key(), raw.value()),
                    new Collector<>() {
                        @Override
                        public void collect(InputRecord record) {
                            out.add(record);
                        }

                        @Override
                        public void close() {}
                    });
            return out.get(0);
        }

        private Outputs drain() {
            Outputs outputs = new Outputs();
            outputs.events.addAll(harness.extractOutputValues());
            harness.getOutput().clear();
            // Checkers stage a chunk before its coordinator judges it against its publish: a chunk the
            // coordinator refuses counts as staged only if its publish is not aborted on the workers.
            for (WeightEvent event : outputs.events) {
                if (event.kind() == WeightEvent.Kind.ABORT_VERSION) {
                    aborted.add(event.modelId() + "/" + event.publishId());
                }
            }
            for (WeightEvent event : outputs.events) {
                if (event.kind() == WeightEvent.Kind.STAGE_CHUNK
                        && !aborted.contains(event.modelId() + "/" + event.publishId())) {
                    outputs.stagedChunks++;
                }
            }
            var side = harness.getSideOutput();
            if (side == null) {
                return outputs;
            }
            for (StreamRecord<Tuple3<String, byte[], byte[]>> record : side) {
                Tuple3<String, byte[], byte[]> tuple = record.getValue();
                try {
                    // What Flink does with it on the way to the Kafka sink: copy and serialize.
                    OUTBOUND_SERIALIZER.serialize(OUTBOUND_SERIALIZER.copy(tuple), new DataOutputSerializer(256));
                    if (tuple.f0.equals(TOPICS.deadLetters())) {
                        outputs.deadLetters.add(WireCodec.DEAD_LETTER.decode(tuple.f2));
                    } else if (tuple.f0.equals(TOPICS.status())) {
                        outputs.statuses.add(WireCodec.STATUS.decode(tuple.f2));
                    } else if (tuple.f0.equals(TOPICS.versions())) {
                        outputs.index.add(WireCodec.VERSION_INDEX.decode(tuple.f2));
                    }
                } catch (Exception e) {
                    CRASHES.incrementAndGet();
                    violation("outbound record unusable", "a record for " + tuple.f0 + " with key "
                            + (tuple.f1 == null ? "null" : tuple.f1.length + " bytes") + " fails: " + e, "");
                }
            }
            side.clear();
            return outputs;
        }

        private void violation(String kind, String detail, String hostile) {
            String message = kind + ": " + detail + (hostile.isEmpty() ? "" : " -- " + hostile);
            violations.add(message);
            String category = kind + " <- " + hostile.replaceAll(" at [A-Z]+\\{.*", "").replaceAll("'[^']*'", "'..'")
                    .replaceAll("-?\\d+", "#");
            synchronized (VIOLATIONS) {
                VIOLATIONS.putIfAbsent(category.length() > 200 ? category.substring(0, 200) : category, message);
            }
        }
    }

    private static final class Outputs {
        final List<WeightEvent> events = new ArrayList<>();
        final List<DeadLetter> deadLetters = new ArrayList<>();
        final List<WorkerStatus> statuses = new ArrayList<>();
        final List<VersionIndexEntry> index = new ArrayList<>();
        int stagedChunks;

        boolean isEmpty() {
            return events.isEmpty() && deadLetters.isEmpty() && statuses.isEmpty() && index.isEmpty();
        }
    }
}
