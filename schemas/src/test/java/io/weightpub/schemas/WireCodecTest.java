package io.weightpub.schemas;

import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WireCodecTest {

    private static final KafkaOffsetRange RANGE = KafkaOffsetRange.newBuilder()
            .setTopic("weightpub.chunks").setPartition(2).setFirstOffset(10).setLastOffset(99).build();

    static WeightChunk chunk() {
        return WeightChunk.newBuilder().setModelId("llama").setStep(7).setPublishId("p-1").setBucketIndex(1)
                .setBucketCount(3).setChunkIndex(0).setChunkCount(2).setBucketOffset(4096).setBucketSize(2000)
                .setChunkOffset(0).setVersionBytes(9000).setCrc32c(-123456)
                .setPayload(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5})).build();
    }

    static VersionManifest manifest() {
        TensorMeta tensor = TensorMeta.newBuilder().setName("model.norm.weight").setShape(List.of(4L, 2L))
                .setDtype("F32").setStartIdx(8).setEndIdx(40).setNumel(8).build();
        BucketInfo bucket = BucketInfo.newBuilder().setIndex(0).setOffset(0).setSizeBytes(40).setChunkCount(1)
                .setSha256(ByteBuffer.wrap(new byte[32])).setTensors(List.of(tensor)).build();
        return VersionManifest.newBuilder().setModelId("llama").setStep(7).setPublishId("p-1").setTotalBytes(40)
                .setChunkSize(1_044_480).setBuckets(List.of(bucket)).setCreatedAtMs(1_700_000_000_000L).build();
    }

    static Stream<Object[]> everyRecordType() {
        return Stream.of(
                new Object[] {WireCodec.CHUNK, chunk()},
                new Object[] {WireCodec.MANIFEST, manifest()},
                new Object[] {WireCodec.CONTROL, ControlRecord.newBuilder().setModelId("llama")
                        .setAction(ControlAction.ROLLBACK).setTargetVersion(4L).setRequestId("r-1")
                        .setReason("bad eval").setRequestedAtMs(5).build()},
                new Object[] {WireCodec.STATUS, WorkerStatus.newBuilder().setModelId("llama").setWorker(3)
                        .setVersion(5).setContentVersion(4).setStep(7).setPublishId("p-1")
                        .setState(VersionState.ACTIVE).setBytes(9000).setDurationMs(12).setTimestampMs(13)
                        .setMessage("flipped").build()},
                new Object[] {WireCodec.VERSION_INDEX, VersionIndexEntry.newBuilder().setModelId("llama")
                        .setVersion(5).setContentVersion(5).setStep(7).setPublishId("p-1").setTotalBytes(9000)
                        .setManifestSha256(ByteBuffer.wrap(new byte[] {9, 9})).setManifestRange(RANGE)
                        .setChunkRanges(List.of(RANGE, RANGE)).setBucketSha256(List.of(ByteBuffer.wrap(new byte[32])))
                        .setCompletedAtMs(14).setReason("publish").build()},
                new Object[] {WireCodec.DEAD_LETTER, DeadLetter.newBuilder().setTopic("weightpub.chunks")
                        .setPartition(0).setOffset(17).setRecordTimestampMs(18).setModelId("llama").setStep(7L)
                        .setPublishId("p-1").setBucketIndex(1).setChunkIndex(0).setReason("CRC32C mismatch")
                        .setRawSize(5).setRaw(ByteBuffer.wrap(new byte[] {1})).setQuarantinedAtMs(19).build()});
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("everyRecordType")
    <T extends SpecificRecord> void roundTripsEveryRecordType(WireCodec<T> codec, T record) throws Exception {
        byte[] bytes = codec.encode(record);
        assertThat(codec.hasCurrentHeader(bytes)).isTrue();
        assertThat(WireCodec.writerFingerprint(bytes)).hasValue(WireCodec.fingerprint(codec.schema()));
        assertThat(codec.decode(bytes)).isEqualTo(record);
        byte[] framed = new byte[bytes.length + 7];
        System.arraycopy(bytes, 0, framed, 3, bytes.length);
        assertThat(codec.decode(framed, 3, bytes.length)).isEqualTo(record);
    }

    @Test
    void aReaderOnTheCurrentSchemaReadsRecordsOfAnOlderWriterThatLackedDefaultedFields() throws Exception {
        // The manifest as it was before "signature" and "schema_version" existed.
        Schema current = VersionManifest.getClassSchema();
        Schema older = withoutFields(current, "signature", "schema_version");
        GenericRecord old = new GenericData.Record(older);
        VersionManifest expected = manifest();
        for (Schema.Field f : older.getFields()) {
            old.put(f.name(), GenericData.get().deepCopy(f.schema(), expected.get(f.name())));
        }
        byte[] bytes = singleObject(older, old);

        WireCodec<VersionManifest> reader = WireCodec.of(VersionManifest.class, current);
        assertThatThrownBy(() -> reader.decode(bytes)).isInstanceOfSatisfying(WireFormatException.class,
                e -> assertThat(e.kind()).isEqualTo(WireFormatException.Kind.UNKNOWN_SCHEMA));
        VersionManifest read = reader.addWriterSchema(older).decode(bytes);
        assertThat(read.getSchemaVersion()).as("default").isEqualTo(1);
        assertThat(read.getSignature()).isNull();
        assertThat(read).isEqualTo(expected);
    }

    /** Records written with every earlier schema (kept under history/ as <Name>-<N>.avsc) still decode. */
    @ParameterizedTest(name = "{1}")
    @MethodSource("everyRecordType")
    <T extends SpecificRecord> void theSharedCodecsReadRecordsWrittenWithEveryEarlierSchemaVersion(
            WireCodec<T> codec, T current) throws Exception {
        String name = codec.schema().getName();
        for (int v = 1; ; v++) {
            java.io.InputStream in = WireCodec.class.getResourceAsStream("history/" + name + "-" + v + ".avsc");
            if (in == null) {
                break;
            }
            Schema older;
            try (in) {
                older = new Schema.Parser().parse(in);
            }
            GenericRecord old = new GenericData.Record(older);
            for (Schema.Field f : older.getFields()) {
                old.put(f.name(), GenericData.get().deepCopy(f.schema(), asGeneric(field(current, f.name()))));
            }
            T read = codec.decode(singleObject(older, old));
            for (Schema.Field f : older.getFields()) {
                assertThat(field(read, f.name())).as(name + " v" + v + " " + f.name()).isEqualTo(field(current, f.name()));
            }
        }
    }

    @Test
    void theSchemasBeforeSigningAreKept() {
        for (String name : List.of("VersionManifest", "ControlRecord", "VersionIndexEntry")) {
            assertThat(WireCodec.class.getResource("history/" + name + "-1.avsc")).as(name).isNotNull();
        }
    }

    private static Object field(SpecificRecord record, String name) {
        return record.get(record.getSchema().getField(name).pos());
    }

    /** Specific records hold Java enums; a generic writer of an older schema wants its enum symbols. */
    private static Object asGeneric(Object value) {
        return value instanceof Enum<?> e ? new GenericData.EnumSymbol(null, e.name()) : value;
    }

    @Test
    void aReaderOnANewerSchemaWithAnAddedOptionalFieldReadsRecordsOfTheOlderWriter() throws Exception {
        Schema current = WeightChunk.getClassSchema();
        Schema newer = withExtraField(current, "compression", SchemaBuilder.unionOf().nullType().and().stringType()
                .endUnion(), Schema.Field.NULL_DEFAULT_VALUE);
        byte[] written = WireCodec.CHUNK.encode(chunk());

        // Decode the current writer's datum with the newer reader schema: Avro fills the default.
        GenericRecord asNewer = new GenericDatumReader<GenericRecord>(current, newer)
                .read(null, DecoderFactory.get()
                        .binaryDecoder(written, 10, written.length - 10, null));
        assertThat(asNewer.get("compression")).isNull();
        assertThat(asNewer.get("model_id").toString()).isEqualTo("llama");
        assertThat(asNewer.get("crc32c")).isEqualTo(-123456);

        // And the other way round: today's codec reads a newer writer's record once told its schema.
        GenericRecord fromNewer = new GenericData.Record(newer);
        for (Schema.Field f : current.getFields()) {
            fromNewer.put(f.name(), chunk().get(f.name()));
        }
        fromNewer.put("compression", "zstd");
        byte[] newerBytes = singleObject(newer, fromNewer);
        WireCodec<WeightChunk> codec = WireCodec.of(WeightChunk.class, current).addWriterSchema(newer);
        assertThat(codec.decode(newerBytes)).isEqualTo(chunk());
    }

    @Test
    void rejectsRecordsWithAWrongOrMissingHeaderByKind() {
        byte[] good = WireCodec.CHUNK.encode(chunk());
        assertKind(null, WireFormatException.Kind.TOO_SHORT);
        assertKind(Arrays.copyOf(good, 9), WireFormatException.Kind.TOO_SHORT);
        byte[] badMarker = good.clone();
        badMarker[0] = (byte) 0xC4;
        assertKind(badMarker, WireFormatException.Kind.BAD_MARKER);
        byte[] unknown = good.clone();
        unknown[5] ^= 0x40;
        assertKind(unknown, WireFormatException.Kind.UNKNOWN_SCHEMA);
        assertThat(WireCodec.MANIFEST.hasCurrentHeader(good)).as("a chunk is not a manifest").isFalse();
        assertThatThrownBy(() -> WireCodec.MANIFEST.decode(good)).isInstanceOfSatisfying(WireFormatException.class,
                e -> assertThat(e.getMessage()).contains("is not a known io.weightpub.schemas.VersionManifest schema"));
    }

    @Test
    void rejectsTruncatedAndOverlongBodiesByKind() {
        byte[] good = WireCodec.CHUNK.encode(chunk());
        assertKind(Arrays.copyOf(good, good.length - 3), WireFormatException.Kind.TRUNCATED);
        assertKind(Arrays.copyOf(good, good.length + 1), WireFormatException.Kind.TRAILING_BYTES);
        // a negative length of the first string cannot decode
        byte[] malformed = Arrays.copyOf(good, good.length);
        malformed[10] = 0x01;
        assertKind(malformed, WireFormatException.Kind.MALFORMED);
    }

    private static void assertKind(byte[] bytes, WireFormatException.Kind kind) {
        assertThatThrownBy(() -> WireCodec.CHUNK.decode(bytes)).isInstanceOfSatisfying(WireFormatException.class,
                e -> {
                    assertThat(e.kind()).isEqualTo(kind);
                    assertThat(e.getMessage()).startsWith(kind.name());
                });
    }

    private static Schema withoutFields(Schema schema, String... dropped) {
        List<String> drop = List.of(dropped);
        List<Schema.Field> fields = schema.getFields().stream().filter(f -> !drop.contains(f.name()))
                .map(f -> new Schema.Field(f, f.schema())).toList();
        return Schema.createRecord(schema.getName(), schema.getDoc(), schema.getNamespace(), false, fields);
    }

    private static Schema withExtraField(Schema schema, String name, Schema type, Object defaultValue) {
        List<Schema.Field> fields = new ArrayList<>(schema.getFields().stream()
                .map(f -> new Schema.Field(f, f.schema())).toList());
        fields.add(new Schema.Field(name, type, "added later", defaultValue));
        return Schema.createRecord(schema.getName(), schema.getDoc(), schema.getNamespace(), false, fields);
    }

    /** Single-object encoding done by hand, as a writer on another schema version would. */
    private static byte[] singleObject(Schema schema, GenericRecord record) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0xC3);
        out.write(0x01);
        long fingerprint = WireCodec.fingerprint(schema);
        for (int i = 0; i < 8; i++) {
            out.write((int) (fingerprint >>> (8 * i)));
        }
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }
}
