package io.weightpub.publisher.testutils;

import io.weightpub.publisher.TensorSource;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.BucketHasher;
import io.weightpub.schemas.DigestScheme;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.WireFormatException;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.zip.CRC32C;

/**
 * A version rebuilt the way a consumer must: from its manifest alone plus the chunks of its
 * publish, checking every chunk's CRC32C, coordinates and sizes against the manifest and every
 * bucket's SHA-256. Any disagreement is an {@link AssertionError} that names the chunk. Holds the
 * version in one array, so use it for test-sized versions.
 */
public final class ReassembledVersion {

    private final VersionManifest manifest;
    private final byte[] bytes;
    private final Map<String, TensorMeta> tensors = new LinkedHashMap<>();
    private final Map<String, Long> tensorOffsets = new LinkedHashMap<>();

    private ReassembledVersion(VersionManifest manifest, byte[] bytes) {
        this.manifest = manifest;
        this.bytes = bytes;
        for (BucketInfo bucket : manifest.getBuckets()) {
            for (TensorMeta t : bucket.getTensors()) {
                tensors.put(t.getName(), t);
                tensorOffsets.put(t.getName(), bucket.getOffset() + t.getStartIdx());
            }
        }
    }

    /** Reads the manifests and chunks topics and rebuilds the publish {@code publishId}. */
    public static ReassembledVersion read(
            String bootstrapServers, TopicNames topics, String publishId, boolean readCommitted) {
        VersionManifest manifest = TopicReader.readAll(bootstrapServers, topics.manifests(), readCommitted).stream()
                .map(r -> decode(WireCodec.MANIFEST, r))
                .filter(m -> m.getPublishId().equals(publishId))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no manifest of publish " + publishId + " on "
                        + topics.manifests()));
        List<WeightChunk> chunks = TopicReader.readAll(bootstrapServers, topics.chunks(), readCommitted).stream()
                .map(r -> decode(WireCodec.CHUNK, r))
                .filter(c -> c.getPublishId().equals(publishId))
                .toList();
        return assemble(manifest, chunks);
    }

    /** Rebuilds a version from its manifest and its chunks in any order (duplicates must agree). */
    public static ReassembledVersion assemble(VersionManifest manifest, List<WeightChunk> chunks) {
        long total = manifest.getTotalBytes();
        if (total > Integer.MAX_VALUE - 8) {
            throw new AssertionError("version of " + total + " bytes is too large to reassemble in a test");
        }
        byte[] bytes = new byte[(int) total];
        List<BucketInfo> buckets = manifest.getBuckets();
        boolean[][] seen = new boolean[buckets.size()][];
        long expectedOffset = 0;
        for (BucketInfo b : buckets) {
            check(b.getOffset() == expectedOffset, "bucket " + b.getIndex() + " at offset " + b.getOffset()
                    + ", buckets must lie end to end (expected " + expectedOffset + ")");
            expectedOffset += b.getSizeBytes();
            seen[b.getIndex()] = new boolean[b.getChunkCount()];
        }
        check(expectedOffset == total, "buckets hold " + expectedOffset + " bytes, manifest says " + total);
        for (WeightChunk c : chunks) {
            String where = "chunk " + c.getChunkIndex() + " of bucket " + c.getBucketIndex() + " of publish "
                    + c.getPublishId();
            check(c.getModelId().equals(manifest.getModelId()) && c.getStep() == manifest.getStep(),
                    where + ": model/step differ from the manifest");
            check(c.getBucketIndex() >= 0 && c.getBucketIndex() < buckets.size()
                    && c.getBucketCount() == buckets.size(), where + ": bucket index/count do not match the manifest");
            BucketInfo b = buckets.get(c.getBucketIndex());
            ByteBuffer payload = c.getPayload().duplicate();
            int size = payload.remaining();
            check(c.getChunkCount() == b.getChunkCount() && c.getChunkIndex() >= 0
                    && c.getChunkIndex() < b.getChunkCount(), where + ": chunk index/count do not match the manifest");
            check(c.getBucketOffset() == b.getOffset() && c.getBucketSize() == b.getSizeBytes()
                    && c.getVersionBytes() == total, where + ": bucket offset/size or version bytes differ");
            check(c.getChunkOffset() == (long) c.getChunkIndex() * manifest.getChunkSize(),
                    where + ": chunk offset " + c.getChunkOffset() + " is not index x chunk size");
            check(c.getChunkOffset() + size <= b.getSizeBytes()
                            && (size == manifest.getChunkSize() || c.getChunkOffset() + size == b.getSizeBytes()),
                    where + ": payload of " + size + " bytes does not fill its slot");
            CRC32C crc = new CRC32C();
            crc.update(payload.duplicate());
            check((int) crc.getValue() == c.getCrc32c(), where + ": CRC32C mismatch");
            payload.get(bytes, (int) (b.getOffset() + c.getChunkOffset()), size);
            seen[b.getIndex()][c.getChunkIndex()] = true;
        }
        for (BucketInfo b : buckets) {
            for (int i = 0; i < seen[b.getIndex()].length; i++) {
                check(seen[b.getIndex()][i], "chunk " + i + " of bucket " + b.getIndex() + " is missing");
            }
            BucketHasher digest = DigestScheme.of(manifest).newHasher();
            digest.update(bytes, (int) b.getOffset(), (int) b.getSizeBytes());
            check(Arrays.equals(digest.digest(), array(b.getSha256())), "bucket " + b.getIndex() + ": "
                    + DigestScheme.of(manifest) + " digest mismatch");
        }
        return new ReassembledVersion(manifest, bytes);
    }

    public VersionManifest manifest() {
        return manifest;
    }

    /** The whole version, padding included. */
    public byte[] bytes() {
        return bytes.clone();
    }

    public List<String> tensorNames() {
        return List.copyOf(tensors.keySet());
    }

    public TensorMeta meta(String name) {
        TensorMeta meta = tensors.get(name);
        check(meta != null, "the manifest lists no tensor " + name);
        return meta;
    }

    /** The tensor's bytes, found through the manifest's bucket table. */
    public byte[] tensorBytes(String name) {
        TensorMeta meta = meta(name);
        int from = (int) (long) tensorOffsets.get(name);
        return Arrays.copyOfRange(bytes, from, from + (int) (meta.getEndIdx() - meta.getStartIdx()));
    }

    /**
     * Asserts that this version holds exactly these tensors: the same names, and for each the
     * same dtype, shape, element count and bytes, bit for bit.
     */
    public void assertHoldsExactly(List<? extends TensorSource> expected) {
        check(tensors.keySet().equals(expected.stream().map(TensorSource::name).collect(Collectors.toSet())), "tensor names differ: published " + tensors.keySet()
                + ", expected " + expected.stream().map(TensorSource::name).toList());
        for (TensorSource source : expected) {
            TensorMeta meta = meta(source.name());
            check(meta.getDtype().equals(source.dtype().safetensorsName()), source.name() + ": dtype " + meta.getDtype());
            check(meta.getShape().equals(Arrays.stream(source.shape()).boxed().toList()),
                    source.name() + ": shape " + meta.getShape() + ", expected " + Arrays.toString(source.shape()));
            check(meta.getNumel() == source.numel(), source.name() + ": numel " + meta.getNumel());
            check(meta.getStartIdx() % source.dtype().itemSize() == 0, source.name() + ": start_idx "
                    + meta.getStartIdx() + " is not aligned to " + source.dtype().itemSize());
            check(Arrays.equals(tensorBytes(source.name()), read(source)), source.name() + ": bytes differ");
        }
    }

    /** All bytes of a source (test-sized tensors only). */
    public static byte[] read(TensorSource source) {
        byte[] out = new byte[Math.toIntExact(source.byteSize())];
        try {
            source.read(0, ByteBuffer.wrap(out));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static <T extends SpecificRecord> T decode(
            WireCodec<T> codec, ConsumerRecord<byte[], byte[]> record) {
        try {
            return codec.decode(record.value());
        } catch (WireFormatException e) {
            throw new AssertionError("undecodable record at " + record.topic() + "-" + record.partition() + "@"
                    + record.offset(), e);
        }
    }

    private static byte[] array(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }

    private static void check(boolean condition, String message) {
        if (!condition) {
            throw new AssertionError(message);
        }
    }
}
