package io.weightpub.schemas;

import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.annotation.PublicEvolving;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Avro single-object encoding (marker {@code C3 01}, little-endian CRC-64-AVRO fingerprint of the
 * writer schema, binary datum) for one record type. Readers resolve any writer schema they were
 * told about, so a newer reader reads older records without a registry; anything else is a typed
 * {@link WireFormatException}, never a runtime crash. Instances are thread-safe.
 */
@PublicEvolving
public final class WireCodec<T extends SpecificRecord> {

    public static final WireCodec<WeightChunk> CHUNK = of(WeightChunk.class, WeightChunk.getClassSchema());
    /** Also reads manifests written before they carried a key id (1) and before tree digests (2). */
    public static final WireCodec<VersionManifest> MANIFEST =
            of(VersionManifest.class, VersionManifest.getClassSchema())
                    .addWriterSchema(earlierSchema("VersionManifest-1.avsc"))
                    .addWriterSchema(earlierSchema("VersionManifest-2.avsc"));
    /** Also reads control records written before RESET_STEP (1) and before operator signatures (2) existed. */
    public static final WireCodec<ControlRecord> CONTROL = of(ControlRecord.class, ControlRecord.getClassSchema())
            .addWriterSchema(earlierSchema("ControlRecord-1.avsc"))
            .addWriterSchema(earlierSchema("ControlRecord-2.avsc"));
    public static final WireCodec<WorkerStatus> STATUS = of(WorkerStatus.class, WorkerStatus.getClassSchema());
    /** Also reads index entries written before they recorded the signing key. */
    public static final WireCodec<VersionIndexEntry> VERSION_INDEX =
            of(VersionIndexEntry.class, VersionIndexEntry.getClassSchema())
                    .addWriterSchema(earlierSchema("VersionIndexEntry-1.avsc"));
    public static final WireCodec<DeadLetter> DEAD_LETTER = of(DeadLetter.class, DeadLetter.getClassSchema());

    static final int HEADER_BYTES = 10;
    private static final byte MARKER_0 = (byte) 0xC3;
    private static final byte MARKER_1 = (byte) 0x01;

    private final Class<T> type;
    private final Schema readerSchema;
    private final byte[] header;
    private final SpecificDatumWriter<T> writer;
    private final Map<Long, Reader<T>> readersByFingerprint = new ConcurrentHashMap<>();

    /** How to read records of one writer schema: the walk that bounds them, then Avro. */
    private static final class Reader<T> {
        final Schema writerSchema;
        final SpecificDatumReader<T> datumReader;

        Reader(Schema writerSchema, SpecificDatumReader<T> datumReader) {
            this.writerSchema = writerSchema;
            this.datumReader = datumReader;
        }
    }

    private WireCodec(Class<T> type, Schema readerSchema) {
        this.type = type;
        this.readerSchema = readerSchema;
        this.header = header(fingerprint(readerSchema));
        this.writer = new SpecificDatumWriter<>(readerSchema, SpecificData.getForClass(type));
        addWriterSchema(readerSchema);
    }

    public static <T extends SpecificRecord> WireCodec<T> of(Class<T> type, Schema readerSchema) {
        return new WireCodec<>(type, readerSchema);
    }

    /** Lets this codec read records written with {@code writerSchema} (an older or newer version). */
    public WireCodec<T> addWriterSchema(Schema writerSchema) {
        SpecificDatumReader<T> reader =
                new SpecificDatumReader<>(writerSchema, readerSchema, SpecificData.getForClass(type));
        readersByFingerprint.put(fingerprint(writerSchema), new Reader<>(writerSchema, reader));
        return this;
    }

    /** A schema an earlier release wrote, kept as a resource under {@code history/}. */
    static Schema earlierSchema(String resource) {
        try (InputStream in = WireCodec.class.getResourceAsStream("history/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("schema resource history/" + resource + " is missing");
            }
            return new Schema.Parser().parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Schema schema() {
        return readerSchema;
    }

    public byte[] encode(T record) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.write(header, 0, header.length);
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        try {
            writer.write(record, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public T decode(byte[] bytes) throws WireFormatException {
        if (bytes == null) {
            throw new WireFormatException(WireFormatException.Kind.TOO_SHORT, "null record value");
        }
        return decode(bytes, 0, bytes.length);
    }

    public T decode(byte[] bytes, int offset, int length) throws WireFormatException {
        if (length < HEADER_BYTES) {
            throw new WireFormatException(
                    WireFormatException.Kind.TOO_SHORT,
                    length + " bytes, a single-object record needs at least " + HEADER_BYTES);
        }
        if (bytes[offset] != MARKER_0 || bytes[offset + 1] != MARKER_1) {
            throw new WireFormatException(
                    WireFormatException.Kind.BAD_MARKER,
                    String.format("marker %02X %02X, expected C3 01", bytes[offset], bytes[offset + 1]));
        }
        long fingerprint = readLongLittleEndian(bytes, offset + 2);
        Reader<T> reader = readersByFingerprint.get(fingerprint);
        if (reader == null) {
            throw new WireFormatException(
                    WireFormatException.Kind.UNKNOWN_SCHEMA,
                    String.format(
                            "writer schema fingerprint %016x is not a known %s schema",
                            fingerprint, readerSchema.getFullName()));
        }
        // Every length and count is checked against the bytes first: Avro allocates what they claim.
        BoundedDatum.check(reader.writerSchema, bytes, offset + HEADER_BYTES, length - HEADER_BYTES);
        BinaryDecoder decoder = DecoderFactory.get()
                .binaryDecoder(bytes, offset + HEADER_BYTES, length - HEADER_BYTES, null);
        T record;
        try {
            record = reader.datumReader.read(null, decoder);
        } catch (EOFException e) {
            throw new WireFormatException(
                    WireFormatException.Kind.TRUNCATED,
                    readerSchema.getName() + " datum ends early (" + length + " bytes)", e);
        } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException | NegativeArraySizeException
                | ClassCastException | UnsupportedOperationException e) {
            throw new WireFormatException(
                    WireFormatException.Kind.MALFORMED,
                    readerSchema.getName() + " datum does not decode: " + e, e);
        }
        try {
            if (!decoder.isEnd()) {
                throw new WireFormatException(
                        WireFormatException.Kind.TRAILING_BYTES,
                        readerSchema.getName() + " datum followed by unread bytes");
            }
        } catch (IOException e) {
            throw new WireFormatException(WireFormatException.Kind.MALFORMED, e.toString(), e);
        }
        return record;
    }

    /** True if {@code bytes} starts with the single-object header of this codec's current schema. */
    public boolean hasCurrentHeader(byte[] bytes) {
        if (bytes == null || bytes.length < HEADER_BYTES) {
            return false;
        }
        for (int i = 0; i < HEADER_BYTES; i++) {
            if (bytes[i] != header[i]) {
                return false;
            }
        }
        return true;
    }

    /** The fingerprint of the writer schema of an encoded record, or empty if it has no valid header. */
    public static java.util.OptionalLong writerFingerprint(byte[] bytes) {
        if (bytes == null || bytes.length < HEADER_BYTES || bytes[0] != MARKER_0 || bytes[1] != MARKER_1) {
            return java.util.OptionalLong.empty();
        }
        return java.util.OptionalLong.of(readLongLittleEndian(bytes, 2));
    }

    public static long fingerprint(Schema schema) {
        return SchemaNormalization.parsingFingerprint64(schema);
    }

    private static byte[] header(long fingerprint) {
        byte[] header = new byte[HEADER_BYTES];
        header[0] = MARKER_0;
        header[1] = MARKER_1;
        for (int i = 0; i < 8; i++) {
            header[2 + i] = (byte) (fingerprint >>> (8 * i));
        }
        return header;
    }

    private static long readLongLittleEndian(byte[] bytes, int offset) {
        long value = 0;
        for (int i = 7; i >= 0; i--) {
            value = (value << 8) | (bytes[offset + i] & 0xFFL);
        }
        return value;
    }
}
