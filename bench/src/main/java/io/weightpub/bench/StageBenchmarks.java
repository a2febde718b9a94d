package io.weightpub.bench;

import io.weightpub.events.WeightEvent;
import io.weightpub.events.WeightEventSerializer;
import io.weightpub.job.assembly.ChunkChecker;
import io.weightpub.job.assembly.ChunkReceipt;
import io.weightpub.job.assembly.OutboundRecord;
import io.weightpub.job.assembly.PublishLimits;
import io.weightpub.job.assembly.VersionCoordinator;
import io.weightpub.job.source.InputRecord;
import io.weightpub.publisher.PublishEncoder;
import io.weightpub.publisher.TensorSource;
import io.weightpub.schemas.ChunkView;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.store.SlotsExhaustedException;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.types.Either;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * The per-chunk hot loops of the data path, each on one chunk of the default size (1,044,480
 * payload bytes): what the job and the sink spend per byte, stage by stage. Run through
 * {@link StageBench} (JMH, few forks and iterations); the operation is always one chunk.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class StageBenchmarks {

    /** Payload bytes of one chunk, the publisher's default chunk size. */
    public static final int CHUNK = PublishEncoder.DEFAULT_CHUNK_SIZE;
    /** Chunks per publish fed to the assembler per invocation. */
    static final int ASSEMBLER_CHUNKS = 32;

    /** One chunk: its payload, its encoded record and the sink event carrying it. */
    @State(Scope.Thread)
    public static class Chunk {
        byte[] payload;
        byte[] record;
        WeightEvent event;
        MessageDigest sha256;
        DataOutputSerializer out;
        DataInputDeserializer in;

        @Setup(Level.Trial)
        public void setUp() throws Exception {
            PublishEncoder encoder = PublishEncoder.builder().modelId("bench").step(1)
                    .tensors(List.of(SyntheticModel.flat("w", CHUNK, 0))).chunkSizeBytes(CHUNK).build();
            WeightChunk chunk = encoder.chunks().next();
            ByteBuffer p = chunk.getPayload().duplicate();
            payload = new byte[p.remaining()];
            p.get(payload);
            record = WireCodec.CHUNK.encode(chunk);
            // as the assembler forwards it: the payload is a slice of the Kafka record's own array
            ChunkView view = ChunkView.parse(record);
            event = WeightEvent.stageChunk("bench", encoder.publishId(), 1, CHUNK, 0, 0, 0, 0, 0, view.payload(),
                    view.payloadOffset(), view.payloadLength());
            sha256 = MessageDigest.getInstance("SHA-256");
            out = new DataOutputSerializer(CHUNK + 4096);
            in = new DataInputDeserializer();
        }
    }

    /** A host weight store with one staged 256 MiB slot. */
    @State(Scope.Thread)
    public static class Slot {
        static final long SLOT_BYTES = 256L << 20;
        WeightStore store;
        long offset;

        @Setup(Level.Trial)
        public void setUp() throws SlotsExhaustedException {
            store = WeightStore.open(WeightStoreConfig.builder().backend(StoreBackend.HOST).build(), 0);
            store.stage("bench", "p", 1, SLOT_BYTES);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            store.close();
        }
    }

    /** A host weight store whose slot is fresh memory at every invocation: no page of it touched yet. */
    @State(Scope.Thread)
    public static class FreshSlot {
        /** 64 chunks: above glibc's largest mmap threshold (32 MiB), so each slot is a new mapping. */
        static final int CHUNKS = 64;
        WeightStore store;

        @Setup(Level.Invocation)
        public void setUp() throws SlotsExhaustedException {
            store = WeightStore.open(WeightStoreConfig.builder().backend(StoreBackend.HOST).build(), 0);
            store.stage("bench", "p", 1, (long) CHUNKS * CHUNK);
        }

        @TearDown(Level.Invocation)
        public void tearDown() {
            store.close();
        }
    }

    /**
     * The job's chunk checker and version coordinator behind Flink's operator harnesses, fed one
     * fresh publish per invocation: the checker's receipts and pass-through records go to the
     * coordinator as the job's keyBy would send them.
     */
    @State(Scope.Thread)
    public static class Assembler {
        static final TopicNames TOPICS = TopicNames.of("bench");
        OneInputStreamOperatorTestHarness<InputRecord, Either<ChunkReceipt, InputRecord>> checker;
        KeyedOneInputStreamOperatorTestHarness<String, Either<ChunkReceipt, InputRecord>, WeightEvent> harness;
        TensorSource tensor;
        List<StreamRecord<InputRecord>> chunks;
        long step;
        long offset;

        @Setup(Level.Trial)
        public void setUp() throws Exception {
            checker = new OneInputStreamOperatorTestHarness<>(
                    new ProcessOperator<>(new ChunkChecker(TOPICS, 1024, PublishLimits.defaults())));
            checker.open();
            harness = new KeyedOneInputStreamOperatorTestHarness<>(
                    new KeyedProcessOperator<>(new VersionCoordinator(TOPICS, 600_000, 8, 1024,
                            PublishLimits.defaults(), SignatureVerifier.acceptingAll())),
                    ChunkChecker.BY_MODEL, Types.STRING);
            // The harness copies every output through this serializer; WeightEvent is immutable, so the
            // copy is free, as it is between chained operators of the real job.
            harness.setup(WeightEventSerializer.INSTANCE);
            harness.open();
            tensor = SyntheticModel.flat("w", (long) ASSEMBLER_CHUNKS * CHUNK, 0);
        }

        /** One record through the checker, then what it sends the coordinator through the coordinator. */
        void process(StreamRecord<InputRecord> record) throws Exception {
            checker.processElement(record);
            for (Either<ChunkReceipt, InputRecord> checked : checker.extractOutputValues()) {
                harness.processElement(new StreamRecord<>(checked));
            }
            checker.getOutput().clear();
        }

        /** Encodes the next publish (outside the measurement) and sends its manifest first. */
        @Setup(Level.Invocation)
        public void nextPublish() throws Exception {
            harness.getOutput().clear();
            var staged = checker.getSideOutput(ChunkChecker.STAGE);
            if (staged != null) {
                staged.clear();
            }
            var side = harness.getSideOutput(OutboundRecord.TAG);
            if (side != null) {
                side.clear();
            }
            PublishEncoder encoder = PublishEncoder.builder().modelId("bench").step(++step)
                    .publishId(UUID.randomUUID().toString()).tensors(List.of(tensor)).chunkSizeBytes(CHUNK).build();
            chunks = new ArrayList<>(ASSEMBLER_CHUNKS);
            for (Iterator<WeightChunk> it = encoder.chunks(); it.hasNext(); ) {
                chunks.add(new StreamRecord<>(new InputRecord(InputRecord.Kind.CHUNK, TOPICS.chunks(), 0, offset++,
                        0, "bench", WireCodec.CHUNK.encode(it.next()))));
            }
            if (chunks.size() != ASSEMBLER_CHUNKS) {
                throw new IllegalStateException(chunks.size() + " chunks, expected " + ASSEMBLER_CHUNKS);
            }
            process(new StreamRecord<>(new InputRecord(InputRecord.Kind.MANIFEST, TOPICS.manifests(),
                    0, offset++, 0, "bench", WireCodec.MANIFEST.encode(encoder.manifest()))));
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            harness.close();
            checker.close();
        }
    }

    /** The assembler's decode: {@link ChunkView} parses the chunk record in place (no payload copy). */
    @Benchmark
    public ChunkView chunkParse(Chunk c) throws Exception {
        return ChunkView.parse(c.record);
    }

    /** For reference: Avro's generic single-object decode, which copies the payload out of the record. */
    @Benchmark
    public WeightChunk avroDecode(Chunk c) throws Exception {
        return WireCodec.CHUNK.decode(c.record);
    }

    /** CRC32C of the payload, as the assembler checks every chunk. */
    @Benchmark
    public long crc32c(Chunk c) {
        CRC32C crc = new CRC32C();
        crc.update(c.payload, 0, c.payload.length);
        return crc.getValue();
    }

    /** SHA-256 of the payload's bytes, as the sink verifies every bucket. */
    @Benchmark
    public byte[] sha256(Chunk c) {
        c.sha256.reset();
        c.sha256.update(c.payload, 0, c.payload.length);
        return c.sha256.digest();
    }

    /** The sink's copy of a chunk into an off-heap slot, through the store's public write. */
    @Benchmark
    public long slotCopy(Chunk c, Slot s) {
        long at = s.offset;
        s.store.write("bench", "p", at, c.payload, 0, c.payload.length);
        s.offset = at + CHUNK + CHUNK > Slot.SLOT_BYTES ? 0 : at + CHUNK;
        return at;
    }

    /**
     * The same copy into a slot no version has used yet, as a worker's first two versions write: every
     * page faults in (mapped and zeroed by the kernel) on the writer's thread.
     */
    @Benchmark
    @OperationsPerInvocation(FreshSlot.CHUNKS)
    public int slotFirstTouch(Chunk c, FreshSlot s) {
        for (int i = 0; i < FreshSlot.CHUNKS; i++) {
            s.store.write("bench", "p", (long) i * CHUNK, c.payload, 0, c.payload.length);
        }
        return FreshSlot.CHUNKS;
    }

    /**
     * A sink event through Flink's serializers, as it crosses the network between the assembler
     * and a sink subtask that is not chained to it (every worker with 2+ workers).
     */
    @Benchmark
    public WeightEvent eventSerde(Chunk c) throws IOException {
        c.out.clear();
        WeightEventSerializer.INSTANCE.serialize(c.event, c.out);
        c.in.setBuffer(c.out.getSharedBuffer(), 0, c.out.length());
        return WeightEventSerializer.INSTANCE.deserialize(c.in);
    }

    /** Checker and coordinator per chunk: parse, checks, CRC32C, bookkeeping in keyed state, emit. */
    @Benchmark
    @OperationsPerInvocation(ASSEMBLER_CHUNKS)
    public int assembler(Assembler a) throws Exception {
        for (StreamRecord<InputRecord> record : a.chunks) {
            a.process(record);
        }
        return a.harness.getOutput().size();
    }
}
