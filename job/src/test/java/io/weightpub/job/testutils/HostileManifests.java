package io.weightpub.job.testutils;

import io.weightpub.job.source.InputRecord;
import io.weightpub.job.testutils.HostileRecords.Expect;
import io.weightpub.job.testutils.HostileRecords.Hostile;
import io.weightpub.job.testutils.HostileRecords.Raw;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static io.weightpub.job.testutils.HostileRecords.ABSURD;
import static io.weightpub.job.testutils.HostileRecords.ABSURD_INT;
import static io.weightpub.job.testutils.HostileRecords.MANIFEST_HEADER;
import static io.weightpub.job.testutils.HostileRecords.MODEL;
import static io.weightpub.job.testutils.HostileRecords.UNKNOWN_DTYPES;
import static io.weightpub.job.testutils.HostileRecords.freshManifest;
import static io.weightpub.job.testutils.HostileRecords.manifestRaw;
import static io.weightpub.job.testutils.HostileRecords.utf8;

/** The manifest families of {@link HostileRecords}: bad fields, absurd Avro lengths, lying tensor metadata. */
final class HostileManifests {

    private HostileManifests() {}

    static Arbitrary<Hostile> absurdField() {
        Arbitrary<Integer> field = Arbitraries.integers().between(0, 7);
        Arbitrary<Integer> pick = Arbitraries.integers().between(0, ABSURD.length - 1);
        return Combinators.combine(field, pick).as((f, p) -> {
            boolean intField = f == 1 || f == 2 || f == 5;
            long v = intField ? ABSURD_INT[p % ABSURD_INT.length] : ABSURD[p];
            String[] names = {"total_bytes", "chunk_size", "bucket.index", "bucket.offset", "bucket.size_bytes",
                "bucket.chunk_count", "bucket.sha256 length", "no buckets"};
            return new Hostile("manifest with " + names[f] + " = " + v, fresh -> {
                VersionManifest m = freshManifest(fresh);
                List<BucketInfo> buckets = new ArrayList<>(m.getBuckets());
                BucketInfo.Builder b = BucketInfo.newBuilder(buckets.get(0));
                int i = (int) v;
                VersionManifest.Builder mb = VersionManifest.newBuilder(m);
                switch (f) {
                    case 0: mb.setTotalBytes(v == m.getTotalBytes() ? -1 : v); break;
                    case 1: mb.setChunkSize(i == m.getChunkSize() ? -1 : i); break;
                    case 2: b.setIndex(i == 0 ? -1 : i); break;
                    case 3: b.setOffset(v == 0 ? -1 : v); break;
                    case 4: b.setSizeBytes(v); break;
                    case 5: b.setChunkCount(i); break;
                    case 6: b.setSha256(ByteBuffer.wrap(new byte[(int) (Math.abs(v % 31)) + (v % 2 == 0 ? 33 : 0)]));
                        break;
                    default: buckets.clear();
                }
                if (f >= 2 && f <= 6) {
                    buckets.set(0, b.build());
                }
                return List.of(manifestRaw(mb.setBuckets(buckets).build(), "absurd manifest field"));
            });
        });
    }

    /** Array and string lengths claiming 2^31-1 items, negative block counts, varints of 10 bytes. */
    static Arbitrary<Hostile> absurdVarint() {
        Arbitrary<Integer> where = Arbitraries.integers().between(0, 4);
        return Combinators.combine(where, Arbitraries.of(ABSURD)).as((w, v) -> new Hostile(
                "manifest whose " + new String[] {"buckets count", "sha256 length", "tensors count", "shape count",
                    "tensor name length"}[w] + " says " + v, fresh -> {
                    AvroWriter out = new AvroWriter(MANIFEST_HEADER).string(MODEL).varint(fresh.step())
                            .string(fresh.publishId()).varint(1).varint(4096).varint(512);
                    if (w == 0) {
                        out.varint(v);
                    } else {
                        out.varint(1).varint(0).varint(0).varint(4096).varint(8);
                        if (w == 1) {
                            out.varint(v);
                        } else {
                            out.varint(32).raw(new byte[32]);
                            if (w == 2) {
                                out.varint(v);
                            } else if (w == 3) {
                                out.varint(1).string("w").varint(v);
                            } else {
                                out.varint(1).varint(v);
                            }
                        }
                    }
                    out.raw(new byte[] {2, 4, 6, 8});
                    return List.of(new Raw(InputRecord.Kind.MANIFEST, utf8(MODEL), out.bytes(), Expect.DEAD_LETTER,
                            "varint"));
                }));
    }

    /** Tensor metadata that lies: unknown dtype, numel overflow or mismatch, overlapping or unaligned ranges. */
    static Arbitrary<Hostile> lyingTensor() {
        Arbitrary<Integer> lie = Arbitraries.integers().between(0, 6);
        Arbitrary<String> dtype = Arbitraries.of(UNKNOWN_DTYPES);
        return Combinators.combine(lie, dtype).as((l, d) -> {
            String[] lies = {"unknown dtype '" + d + "'", "shape [2^40, 2^40] whose numel overflows",
                "numel one more than its shape", "range one byte short of numel * itemsize",
                "range overlapping the previous tensor", "negative dimension", "range past its bucket"};
            return new Hostile("manifest whose tensor has " + lies[l], fresh -> {
                VersionManifest m = freshManifest(fresh);
                List<BucketInfo> buckets = new ArrayList<>(m.getBuckets());
                BucketInfo bucket = buckets.get(0);
                List<TensorMeta> tensors = new ArrayList<>(bucket.getTensors());
                int at = tensors.size() - 1;
                TensorMeta t = tensors.get(at);
                TensorMeta.Builder tb = TensorMeta.newBuilder(t);
                switch (l) {
                    case 0: tb.setDtype(d); break;
                    case 1: tb.setShape(List.of(1L << 40, 1L << 40)).setNumel((1L << 40) * (1L << 40)); break;
                    case 2: tb.setNumel(t.getNumel() + 1); break;
                    case 3: tb.setEndIdx(t.getEndIdx() - 1); break;
                    case 4: tb.setStartIdx(Math.max(0, t.getStartIdx() - 2)).setEndIdx(t.getEndIdx() - 2); break;
                    case 5: tb.setShape(List.of(-t.getNumel())); break;
                    default: tb.setStartIdx(bucket.getSizeBytes() - 1).setEndIdx(bucket.getSizeBytes() + 63);
                }
                tensors.set(at, tb.build());
                buckets.set(0, BucketInfo.newBuilder(bucket).setTensors(tensors).build());
                return List.of(manifestRaw(VersionManifest.newBuilder(m).setBuckets(buckets).build(), "tensor"));
            });
        });
    }
}
