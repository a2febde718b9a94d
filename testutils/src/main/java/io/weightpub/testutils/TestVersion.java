package io.weightpub.testutils;

import io.weightpub.events.WeightEvent;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WireCodec;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A synthetic version for tests: buckets of F32 tensors filled with bytes derived from (model,
 * version), its manifest, and the events the job would send for it.
 */
public final class TestVersion {

    public static final int TENSORS_PER_BUCKET = 2;

    private final String modelId;
    private final long version;
    private final String publishId;
    private final byte[] bytes;
    private final int bucketBytes;
    private final VersionManifest manifest;

    private TestVersion(String modelId, long version, int buckets, int bucketBytes, int corruptBucket) {
        this.modelId = modelId;
        this.version = version;
        this.publishId = modelId + "-publish-" + version;
        this.bucketBytes = bucketBytes;
        this.bytes = new byte[buckets * bucketBytes];
        new SplittableRandom(modelId.hashCode() * 1_000_003L + version).nextBytes(bytes);
        List<BucketInfo> infos = new ArrayList<>();
        for (int b = 0; b < buckets; b++) {
            List<TensorMeta> tensors = new ArrayList<>();
            int tensorBytes = bucketBytes / TENSORS_PER_BUCKET;
            for (int t = 0; t < TENSORS_PER_BUCKET; t++) {
                tensors.add(TensorMeta.newBuilder()
                        .setName(tensorName(b, t))
                        .setShape(List.of((long) tensorBytes / 4))
                        .setDtype("F32")
                        .setStartIdx((long) t * tensorBytes)
                        .setEndIdx((long) (t + 1) * tensorBytes)
                        .setNumel((long) tensorBytes / 4)
                        .build());
            }
            byte[] digest = sha256(bytes, b * bucketBytes, bucketBytes);
            if (b == corruptBucket) {
                digest[0] ^= 1;
            }
            infos.add(BucketInfo.newBuilder()
                    .setIndex(b)
                    .setOffset((long) b * bucketBytes)
                    .setSizeBytes(bucketBytes)
                    .setChunkCount(1)
                    .setSha256(ByteBuffer.wrap(digest))
                    .setTensors(tensors)
                    .build());
        }
        this.manifest = VersionManifest.newBuilder()
                .setModelId(modelId)
                .setStep(version * 10)
                .setPublishId(publishId)
                .setTotalBytes((long) bytes.length)
                .setChunkSize(bucketBytes)
                .setBuckets(infos)
                .setCreatedAtMs(0)
                .build();
    }

    public static TestVersion of(String modelId, long version, int buckets, int bucketBytes) {
        return new TestVersion(modelId, version, buckets, bucketBytes, -1);
    }

    /** The same bytes, but the manifest's digest of {@code bucket} is wrong. */
    public static TestVersion withWrongDigest(String modelId, long version, int buckets, int bucketBytes, int bucket) {
        return new TestVersion(modelId, version, buckets, bucketBytes, bucket);
    }

    public static String tensorName(int bucket, int tensor) {
        return "layers." + bucket + ".w" + tensor;
    }

    public String modelId() {
        return modelId;
    }

    public long version() {
        return version;
    }

    public long step() {
        return version * 10;
    }

    public String publishId() {
        return publishId;
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    public int size() {
        return bytes.length;
    }

    public VersionManifest manifest() {
        return manifest;
    }

    public byte[] sha256() {
        return sha256(bytes, 0, bytes.length);
    }

    public String sha256Hex() {
        return HexFormat.of().formatHex(sha256());
    }

    /** Digest of tensor {@code t} of bucket {@code b}. */
    public String tensorSha256Hex(int b, int t) {
        int tensorBytes = bucketBytes / TENSORS_PER_BUCKET;
        return HexFormat.of().formatHex(sha256(bytes, b * bucketBytes + t * tensorBytes, tensorBytes));
    }

    /** Chunk {@code i} of {@code chunkBytes} as the job would emit it. */
    public WeightEvent chunk(int i, int chunkBytes) {
        int from = i * chunkBytes;
        byte[] payload = Arrays.copyOfRange(bytes, from, Math.min(bytes.length, from + chunkBytes));
        return WeightEvent.stageChunk(modelId, publishId, step(), bytes.length, from, from / bucketBytes, i, 0,
                version * 1000 + i, payload);
    }

    public int chunkCount(int chunkBytes) {
        return (bytes.length + chunkBytes - 1) / chunkBytes;
    }

    public WeightEvent commit() {
        byte[] encodedManifest = WireCodec.MANIFEST.encode(manifest);
        VersionIndexEntry location = VersionIndexEntry.newBuilder()
                .setModelId(modelId)
                .setVersion(version)
                .setContentVersion(version)
                .setStep(step())
                .setPublishId(publishId)
                .setTotalBytes((long) bytes.length)
                .setManifestSha256(ByteBuffer.wrap(new byte[32]))
                .setManifestRange(new KafkaOffsetRange("none.manifests", 0, -1L, -1L))
                .setChunkRanges(List.of())
                .setBucketSha256(List.of())
                .setCompletedAtMs(0)
                .build();
        return WeightEvent.commitVersion(modelId, publishId, step(), version, version, bytes.length,
                encodedManifest, WireCodec.VERSION_INDEX.encode(location), "publish");
    }

    /** All events of this version: chunks in reverse order (order within a publish is free), then the commit. */
    public List<WeightEvent> events(int chunkBytes) {
        List<WeightEvent> events = new ArrayList<>();
        for (int i = chunkCount(chunkBytes) - 1; i >= 0; i--) {
            events.add(chunk(i, chunkBytes));
        }
        events.add(commit());
        return events;
    }

    public static byte[] sha256(byte[] data, int from, int length) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(data, from, length);
            return digest.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
