package io.weightpub.job.testutils;

import io.weightpub.job.source.InputRecord;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Generators of hostile input records for the assembler: each {@link Hostile} names what it is and
 * how the job must answer it, and makes its records for a fresh publish id and trainer step (so
 * that one hostile record never shares a publish with another unless it is meant to). Valid records
 * are made by the real encoders ({@link RandomPublish}, {@link WireCodec}) and then mutated.
 */
public final class HostileRecords {

    /** How the job must answer a record. */
    public enum Expect {
        /** Exactly one dead letter naming the record's topic, partition and offset. */
        DEAD_LETTER,
        /** Part of a valid publish (possibly a duplicate): never dead-lettered. */
        VALID,
        /** A well-formed command that names nothing: answered by one status record, never dead-lettered. */
        STATUS_ONLY,
        /** Well-formed but refused as a whole (a step jumping absurdly far): at most one dead letter, naming it. */
        REFUSED,
        /**
         * A lie the record alone cannot refute (a non-last bucket's chunk of a version larger than its
         * publish will ever send): at most one dead letter; if it passes, its publish is aborted at
         * the publish timeout.
         */
        UNREFUTED_UNTIL_TIMEOUT
    }

    /** One record for an input topic; a null key or value is a Kafka null. */
    public record Raw(InputRecord.Kind kind, byte[] key, byte[] value, Expect expect, String what) {}

    /** Unique publish ids and steps handed to each hostile item as it is made. */
    public interface Fresh {
        String publishId();

        /** A step after the baseline version's and before the version that follows the batch. */
        long step();
    }

    /** One generated hostile item: a description and its records. */
    public record Hostile(String what, Function<Fresh, List<Raw>> make) {
        @Override
        public String toString() {
            return what;
        }
    }

    public static final String MODEL = "org/hostile-7b";
    /** int and long values no sane record carries. */
    static final Long[] ABSURD = {
        (long) Integer.MAX_VALUE, (long) Integer.MIN_VALUE, -1L, Integer.MAX_VALUE - 8L, 1L << 31, 1L << 40, 1L << 50,
        Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE - 7
    };
    /** int values no sane record carries (never a plausible index, count or size). */
    static final Integer[] ABSURD_INT = {Integer.MAX_VALUE, Integer.MIN_VALUE, -1, Integer.MAX_VALUE - 8, 1 << 30};
    static final String[] UNKNOWN_DTYPES = {"Q4_K", "", "f32", "F128", "BF16 ", "\u0000", "INT4"};

    static final int TEMPLATE_CHUNK_SIZE = 512;
    static final RandomPublish TEMPLATE = RandomPublish.create(MODEL, 1, 77, 4, 3000, 4096, TEMPLATE_CHUNK_SIZE);
    static final byte[] CHUNK_HEADER = Arrays.copyOf(WireCodec.CHUNK.encode(TEMPLATE.chunks().get(0)), 10);
    static final byte[] MANIFEST_HEADER = Arrays.copyOf(WireCodec.MANIFEST.encode(TEMPLATE.manifest()), 10);

    private HostileRecords() {}

    // ------------------------------------------------------------------ families

    /** Hostile chunk records: each is dead-lettered on its own. */
    public static Arbitrary<Hostile> chunks() {
        return Arbitraries.oneOf(List.of(
                randomBytes(InputRecord.Kind.CHUNK),
                wrongFingerprint(InputRecord.Kind.CHUNK),
                truncated(InputRecord.Kind.CHUNK),
                trailingBytes(InputRecord.Kind.CHUNK),
                absurdChunkField(),
                flippedPayloadBit(),
                chunkAbsurdVarint(),
                chunkWithOverflowingOffsets(),
                chunkBitmapBomb()));
    }

    /** Hostile manifests: structurally bad ones and ones whose tensor metadata lies. */
    public static Arbitrary<Hostile> manifests() {
        return Arbitraries.oneOf(List.of(
                randomBytes(InputRecord.Kind.MANIFEST),
                wrongFingerprint(InputRecord.Kind.MANIFEST),
                truncated(InputRecord.Kind.MANIFEST),
                HostileManifests.absurdField(),
                HostileManifests.absurdVarint(),
                HostileManifests.lyingTensor()));
    }

    /** Hostile control records: undecodable ones and commands that name nothing. */
    public static Arbitrary<Hostile> controls() {
        return Arbitraries.oneOf(List.of(
                randomBytes(InputRecord.Kind.CONTROL),
                wrongFingerprint(InputRecord.Kind.CONTROL),
                truncated(InputRecord.Kind.CONTROL),
                controlNamingNothing()));
    }

    /** Records of any topic whose Kafka key or value is null, empty or does not name the record's model. */
    public static Arbitrary<Hostile> keysAndValues() {
        Arbitrary<InputRecord.Kind> kinds = Arbitraries.of(InputRecord.Kind.class);
        Arbitrary<byte[]> oddKeys = Arbitraries.oneOf(List.of(
                Arbitraries.just((byte[]) null),
                Arbitraries.of("", "/", "//", "///", MODEL, "org", "hostile-7b", "other/p/0", "\u0000", " ")
                        .map(HostileRecords::utf8),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(64),
                Arbitraries.strings().ofMinLength(1000).ofMaxLength(20_000).map(HostileRecords::utf8)));
        Arbitrary<Boolean> nullValue = Arbitraries.of(true, false);
        return Combinators.combine(kinds, oddKeys, nullValue).as((kind, key, tombstone) -> new Hostile(
                kind + " keyed " + describe(key) + (tombstone ? " with a null value" : " with a valid value"),
                fresh -> {
                    byte[] value = tombstone ? null : validValue(kind, fresh);
                    // A valid value under its model's proper key would be accepted: keep only the hostile pairs.
                    boolean properKey = key != null && Arrays.equals(key, utf8(properKey(kind, fresh)));
                    return List.of(new Raw(kind, properKey ? utf8("x" + MODEL) : key, value,
                            Expect.DEAD_LETTER, "odd key/value"));
                }));
    }

    /** Hostile values under a proper key: null or empty values, and records far over any sane size. */
    public static Arbitrary<Hostile> emptyValues() {
        return Arbitraries.of(InputRecord.Kind.class).flatMap(kind -> Arbitraries.of(0, 1, 9, 10).map(size ->
                new Hostile(kind + " of " + size + " bytes under a proper key", fresh -> List.of(
                        new Raw(kind, utf8(properKey(kind, fresh)), new byte[size], Expect.DEAD_LETTER, "empty")))));
    }

    /**
     * A valid publish, its chunks shuffled with duplicates and its manifest anywhere (never
     * dead-lettered; the duplicates dropped), or one whose bucket digest is wrong (the job cannot
     * know; the workers refuse it), or one whose step jumps absurdly far (it must not block later
     * versions).
     */
    public static Arbitrary<Hostile> validPublishes() {
        Arbitrary<Long> seeds = Arbitraries.longs();
        Arbitrary<Integer> duplicates = Arbitraries.integers().between(0, 12);
        Arbitrary<Integer> kind = Arbitraries.integers().between(0, 9);
        return Combinators.combine(seeds, duplicates, kind).as((seed, dups, k) -> {
            String what = k == 9 ? "valid publish at step +2^40" : k == 8 ? "publish with a wrong bucket SHA-256"
                    : "valid publish shuffled with " + dups + " duplicates";
            return new Hostile(what, fresh -> {
                long step = k == 9 ? fresh.step() + (1L << 40) : fresh.step();
                RandomPublish version = RandomPublish.create(MODEL, step, seed, 3, 2000, 2048, 256);
                VersionManifest manifest = version.manifest();
                if (k == 8) {
                    List<BucketInfo> buckets = new ArrayList<>(manifest.getBuckets());
                    byte[] digest = new byte[32];
                    digest[(int) (seed & 31)] = 1;
                    buckets.set(0, BucketInfo.newBuilder(buckets.get(0)).setSha256(ByteBuffer.wrap(digest)).build());
                    manifest = VersionManifest.newBuilder(manifest).setBuckets(buckets).build();
                }
                List<Raw> records = new ArrayList<>();
                Expect expect = k == 9 ? Expect.REFUSED : Expect.VALID;
                for (WeightChunk chunk : version.chunks()) {
                    records.add(chunkRaw(chunk, expect, what));
                }
                java.util.Random random = new java.util.Random(seed);
                for (int i = 0; i < dups; i++) {
                    records.add(records.get(random.nextInt(version.chunks().size())));
                }
                records.add(new Raw(InputRecord.Kind.MANIFEST, utf8(MODEL), WireCodec.MANIFEST.encode(manifest),
                        expect, what));
                java.util.Collections.shuffle(records, random);
                return records;
            });
        });
    }

    // ------------------------------------------------------------------ byte-level families

    static Arbitrary<Hostile> randomBytes(InputRecord.Kind kind) {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(400).map(bytes -> new Hostile(
                kind + ": " + bytes.length + " random bytes",
                fresh -> List.of(new Raw(kind, utf8(properKey(kind, fresh)), bytes, Expect.DEAD_LETTER, "random"))));
    }

    static Arbitrary<Hostile> wrongFingerprint(InputRecord.Kind kind) {
        return Arbitraries.longs().map(fingerprint -> new Hostile(
                kind + ": marker C3 01 with fingerprint " + Long.toHexString(fingerprint),
                fresh -> {
                    byte[] value = validValue(kind, fresh);
                    for (int i = 0; i < 8; i++) {
                        value[2 + i] = (byte) (fingerprint >>> (8 * i));
                    }
                    if (WireCodec.writerFingerprint(value).orElse(0) == WireCodec.fingerprint(codecSchema(kind))) {
                        value[2] ^= 1;
                    }
                    return List.of(new Raw(kind, utf8(properKey(kind, fresh)), value, Expect.DEAD_LETTER, "fp"));
                }));
    }

    static Arbitrary<Hostile> truncated(InputRecord.Kind kind) {
        return Arbitraries.doubles().between(0, 0.99).map(cut -> new Hostile(
                kind + ": valid datum cut at " + (int) (cut * 100) + "%",
                fresh -> {
                    byte[] value = validValue(kind, fresh);
                    return List.of(new Raw(kind, utf8(properKey(kind, fresh)),
                            Arrays.copyOf(value, (int) (cut * value.length)), Expect.DEAD_LETTER, "truncated"));
                }));
    }

    static Arbitrary<Hostile> trailingBytes(InputRecord.Kind kind) {
        return Arbitraries.integers().between(1, 64).map(extra -> new Hostile(
                kind + ": valid datum followed by " + extra + " bytes",
                fresh -> {
                    byte[] value = validValue(kind, fresh);
                    return List.of(new Raw(kind, utf8(properKey(kind, fresh)),
                            Arrays.copyOf(value, value.length + extra), Expect.DEAD_LETTER, "trailing"));
                }));
    }

    // ------------------------------------------------------------------ chunks

    static Arbitrary<Hostile> absurdChunkField() {
        Arbitrary<Integer> field = Arbitraries.integers().between(0, 7);
        Arbitrary<Integer> which = Arbitraries.integers().between(0, TEMPLATE.chunks().size() - 1);
        Arbitrary<Integer> pick = Arbitraries.integers().between(0, ABSURD.length - 1);
        return Combinators.combine(field, pick, which).as((f, p, c) -> {
            long v = f < 4 ? ABSURD_INT[p % ABSURD_INT.length] : ABSURD[p];
            String[] names = {"bucket_index", "bucket_count", "chunk_index", "chunk_count", "bucket_offset",
                "bucket_size", "chunk_offset", "version_bytes"};
            return new Hostile("chunk " + c + " with " + names[f] + " = " + v, fresh -> {
                WeightChunk.Builder b = WeightChunk.newBuilder(freshChunk(c, fresh));
                int i = (int) v;
                switch (f) {
                    case 0: b.setBucketIndex(i); break;
                    case 1: b.setBucketCount(i); break;
                    case 2: b.setChunkIndex(i); break;
                    case 3: b.setChunkCount(i); break;
                    case 4: b.setBucketOffset(v); break;
                    case 5: b.setBucketSize(v); break;
                    case 6: b.setChunkOffset(v); break;
                    default: b.setVersionBytes(v);
                }
                WeightChunk lie = b.build();
                // Decided from the chunk's numbers, not the field: only a consistent lie may pass.
                return List.of(chunkRaw(lie, ChunkConsistency.consistentAlone(lie, TEMPLATE_CHUNK_SIZE)
                        ? Expect.UNREFUTED_UNTIL_TIMEOUT : Expect.DEAD_LETTER, "absurd field"));
            });
        });
    }

    static Arbitrary<Hostile> flippedPayloadBit() {
        return Combinators.combine(Arbitraries.integers().between(0, TEMPLATE.chunks().size() - 1),
                Arbitraries.integers().between(0, 4095), Arbitraries.integers().between(0, 7)).as((c, at, bit) ->
                new Hostile("chunk " + c + " with payload bit " + bit + " of byte " + at + " flipped (CRC32C)",
                        fresh -> {
                            WeightChunk chunk = freshChunk(c, fresh);
                            byte[] payload = new byte[chunk.getPayload().remaining()];
                            chunk.getPayload().duplicate().get(payload);
                            payload[at % payload.length] ^= (byte) (1 << bit);
                            return List.of(chunkRaw(WeightChunk.newBuilder(chunk).setPayload(ByteBuffer.wrap(payload))
                                    .build(), Expect.DEAD_LETTER, "crc"));
                        }));
    }

    /** A string or payload length prefix claiming 2^31-1, a negative length or a 10-byte varint. */
    static Arbitrary<Hostile> chunkAbsurdVarint() {
        Arbitrary<Integer> where = Arbitraries.integers().between(0, 2);
        return Combinators.combine(where, Arbitraries.of(ABSURD)).as((w, v) -> new Hostile(
                "chunk whose " + new String[] {"model_id", "publish_id", "payload"}[w] + " length says " + v,
                fresh -> {
                    AvroWriter out = new AvroWriter(CHUNK_HEADER);
                    if (w == 0) {
                        out.varint(v);
                        return List.of(new Raw(InputRecord.Kind.CHUNK, utf8(properKey(InputRecord.Kind.CHUNK, fresh)),
                                out.bytes(), Expect.DEAD_LETTER, "varint"));
                    }
                    out.string(MODEL).varint(fresh.step());
                    if (w == 1) {
                        out.varint(v);
                    } else {
                        out.string(fresh.publishId());
                        // bucket_index .. crc32c: one bucket of one chunk, everything else 0
                        for (int i = 0; i < 9; i++) {
                            out.varint(i == 1 ? 1 : i == 3 ? 1 : 0);
                        }
                        out.varint(v).raw(new byte[] {1, 2, 3});
                    }
                    return List.of(new Raw(InputRecord.Kind.CHUNK, utf8(properKey(InputRecord.Kind.CHUNK, fresh)),
                            out.bytes(), Expect.DEAD_LETTER, "varint"));
                }));
    }

    /** Offsets whose sums overflow a long: they must not pass a check by wrapping around. */
    static Arbitrary<Hostile> chunkWithOverflowingOffsets() {
        return Arbitraries.of(Long.MAX_VALUE - 10, Long.MAX_VALUE - 4096, Long.MAX_VALUE / 2 + 1).map(big ->
                new Hostile("chunk 0 with bucket_offset " + big + " in a version of " + big + " bytes", fresh -> {
                    WeightChunk chunk = freshChunk(0, fresh);
                    return List.of(chunkRaw(WeightChunk.newBuilder(chunk).setBucketOffset(big).build(),
                            Expect.DEAD_LETTER, "overflow"));
                }));
    }

    /** Consistent in itself (chunk size 1, 2^31-1 chunks of a 2^31-1-byte bucket): claims, not bytes. */
    static Arbitrary<Hostile> chunkBitmapBomb() {
        return Arbitraries.of(Integer.MAX_VALUE, Integer.MAX_VALUE - 8, 1 << 30).map(count -> new Hostile(
                "one-byte chunk 0 of " + count + " chunks in a bucket of " + count + " bytes", fresh -> {
                    byte[] one = {42};
                    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                    crc.update(one);
                    WeightChunk chunk = WeightChunk.newBuilder(freshChunk(0, fresh)).setBucketIndex(0)
                            .setBucketCount(1).setChunkIndex(0).setChunkCount(count).setBucketOffset(0)
                            .setBucketSize(count).setChunkOffset(0).setVersionBytes(count)
                            .setCrc32c((int) crc.getValue()).setPayload(ByteBuffer.wrap(one)).build();
                    return List.of(chunkRaw(chunk, Expect.DEAD_LETTER, "bomb"));
                }));
    }

    // ------------------------------------------------------------------ control

    static Arbitrary<Hostile> controlNamingNothing() {
        Arbitrary<Long> versions = Arbitraries.oneOf(List.of(Arbitraries.of(ABSURD), Arbitraries.longs()
                .between(1000, 1_000_000)));
        Arbitrary<Boolean> rollback = Arbitraries.of(true, false);
        return Combinators.combine(versions, rollback).as((v, isRollback) -> new Hostile(
                isRollback ? "rollback to unknown version " + v : "abort of a publish never seen", fresh -> {
                    ControlRecord control = ControlRecord.newBuilder().setModelId(MODEL)
                            .setAction(isRollback ? ControlAction.ROLLBACK : ControlAction.ABORT)
                            .setTargetVersion(isRollback ? v : null)
                            .setPublishId(isRollback ? null : fresh.publishId())
                            .setRequestId("r-" + fresh.publishId()).setRequestedAtMs(0).build();
                    return List.of(new Raw(InputRecord.Kind.CONTROL, utf8(MODEL), WireCodec.CONTROL.encode(control),
                            Expect.STATUS_ONLY, "control"));
                }));
    }

    // ------------------------------------------------------------------ helpers

    /** A chunk of the template publish moved to a fresh publish id and step. */
    static WeightChunk freshChunk(int index, Fresh fresh) {
        return WeightChunk.newBuilder(TEMPLATE.chunks().get(index)).setPublishId(fresh.publishId())
                .setStep(fresh.step()).build();
    }

    static VersionManifest freshManifest(Fresh fresh) {
        return VersionManifest.newBuilder(TEMPLATE.manifest()).setPublishId(fresh.publishId()).setStep(fresh.step())
                .build();
    }

    static byte[] validValue(InputRecord.Kind kind, Fresh fresh) {
        switch (kind) {
            case CHUNK: return WireCodec.CHUNK.encode(freshChunk(1, fresh));
            case MANIFEST: return WireCodec.MANIFEST.encode(freshManifest(fresh));
            default: return WireCodec.CONTROL.encode(ControlRecord.newBuilder().setModelId(MODEL)
                    .setAction(ControlAction.ROLLBACK).setTargetVersion(1_000_000L).setRequestId("r")
                    .setRequestedAtMs(0).build());
        }
    }

    static org.apache.avro.Schema codecSchema(InputRecord.Kind kind) {
        return kind == InputRecord.Kind.CHUNK ? WireCodec.CHUNK.schema()
                : kind == InputRecord.Kind.MANIFEST ? WireCodec.MANIFEST.schema() : WireCodec.CONTROL.schema();
    }

    /** The Kafka key a trainer or the ops CLI gives a record of this kind. */
    public static String properKey(InputRecord.Kind kind, Fresh fresh) {
        return kind == InputRecord.Kind.CHUNK ? MODEL + "/" + fresh.publishId() + "/0" : MODEL;
    }

    public static Raw chunkRaw(WeightChunk chunk, Expect expect, String what) {
        return new Raw(InputRecord.Kind.CHUNK,
                utf8(chunk.getModelId() + "/" + chunk.getPublishId() + "/" + chunk.getBucketIndex()),
                WireCodec.CHUNK.encode(chunk), expect, what);
    }

    static Raw manifestRaw(VersionManifest manifest, String what) {
        return new Raw(InputRecord.Kind.MANIFEST, utf8(manifest.getModelId()), WireCodec.MANIFEST.encode(manifest),
                Expect.DEAD_LETTER, what);
    }

    static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String describe(byte[] key) {
        if (key == null) {
            return "null";
        }
        String text = new String(key, StandardCharsets.UTF_8);
        return "'" + (text.length() > 40 ? text.substring(0, 40) + "...(" + key.length + " bytes)" : text) + "'";
    }
}
