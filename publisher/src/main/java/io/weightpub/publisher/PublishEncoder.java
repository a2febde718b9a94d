package io.weightpub.publisher;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.BucketHasher;
import io.weightpub.schemas.DigestScheme;
import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.zip.CRC32C;

/**
 * Turns one version (model, step, tensors) into its wire records, without sending them: first
 * the {@link WeightChunk}s, bucket by bucket, produced lazily so only one chunk's payload is in
 * memory at a time, then the {@link VersionManifest}, whose bucket digests are computed on the
 * way. {@link WeightPublisher} sends exactly these records; tests use them to send a version
 * reordered, duplicated or corrupted.
 *
 * <p>An encoder is single-use: each bucket's chunks may be taken once ({@link #chunks()} for all,
 * {@link #chunks(int, int)} for a range; ranges may be iterated by different threads at once),
 * and {@link #manifest()} only after every bucket's chunks were taken to the end.
 */
@PublicEvolving
public final class PublishEncoder {

    /** 1020 KiB: a chunk record with its key and header stays under Kafka's default 1 MiB limits. */
    public static final int DEFAULT_CHUNK_SIZE = 1_044_480;
    /** Upper bound of the chunk size; keeps Flink records far from its spilling threshold. */
    public static final int MAX_CHUNK_SIZE = 64 << 20;
    public static final int SCHEMA_VERSION = 1;

    private final String modelId;
    private final long step;
    private final String publishId;
    private final int chunkSizeBytes;
    private final BucketPlan plan;
    private final DigestScheme digestScheme;
    private final int[] chunkCounts;
    /** Chunks of the version before each bucket: chunk sequence numbers, which place records on partitions. */
    private final long[] firstChunk;
    private final long chunkCount;
    private final AtomicReferenceArray<byte[]> digests;
    private final boolean[] bucketsTaken;

    private PublishEncoder(Builder b) {
        this.modelId = b.modelId;
        this.step = b.step;
        this.publishId = b.publishId != null ? b.publishId : UUID.randomUUID().toString();
        this.chunkSizeBytes = b.chunkSizeBytes;
        this.plan = BucketPlanner.plan(b.tensors, b.bucketSizeBytes);
        this.digestScheme = b.digestScheme;
        this.chunkCounts = new int[plan.buckets().size()];
        this.firstChunk = new long[plan.buckets().size()];
        long total = 0;
        for (BucketPlan.Bucket bucket : plan.buckets()) {
            long n = chunkCount(bucket.sizeBytes(), chunkSizeBytes);
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("bucket " + bucket.index() + " of " + bucket.sizeBytes()
                        + " bytes needs " + n + " chunks of " + chunkSizeBytes + " bytes, more than an int counts");
            }
            chunkCounts[bucket.index()] = (int) n;
            firstChunk[bucket.index()] = total;
            total += n;
        }
        this.chunkCount = total;
        this.digests = new AtomicReferenceArray<>(plan.buckets().size());
        this.bucketsTaken = new boolean[plan.buckets().size()];
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Chunks of a bucket: its size over the chunk size, rounded up; an empty bucket has one empty chunk. */
    public static long chunkCount(long bucketSizeBytes, int chunkSizeBytes) {
        return bucketSizeBytes == 0 ? 1 : (bucketSizeBytes + chunkSizeBytes - 1) / chunkSizeBytes;
    }

    public String modelId() {
        return modelId;
    }

    public long step() {
        return step;
    }

    public String publishId() {
        return publishId;
    }

    public int chunkSizeBytes() {
        return chunkSizeBytes;
    }

    public BucketPlan plan() {
        return plan;
    }

    public long totalBytes() {
        return plan.totalBytes();
    }

    public int bucketCount() {
        return plan.buckets().size();
    }

    /** Chunk records of the whole version. */
    public long chunkCount() {
        return chunkCount;
    }

    public int chunkCount(int bucketIndex) {
        return chunkCounts[bucketIndex];
    }

    /** The version-wide number of a chunk: chunks of earlier buckets plus its index in its bucket. */
    public long chunkSequence(int bucketIndex, int chunkIndex) {
        return firstChunk[bucketIndex] + chunkIndex;
    }

    /** Bytes of each bucket, padding included, in bucket order. */
    public long[] bucketSizes() {
        return plan.buckets().stream().mapToLong(BucketPlan.Bucket::sizeBytes).toArray();
    }

    /** The digest (of the encoder's scheme) of a bucket whose chunks were all taken, or of one set with {@link #bucketDigest(int, byte[])}. */
    public byte[] bucketDigest(int bucketIndex) {
        byte[] digest = digests.get(bucketIndex);
        if (digest == null) {
            throw new IllegalStateException("bucket " + bucketIndex + " of publish " + publishId + " is not encoded");
        }
        return digest.clone();
    }

    /**
     * Sets the digest of a bucket another trainer rank encoded, so that this encoder's manifest
     * covers the whole version without reading that bucket's bytes.
     */
    void bucketDigest(int bucketIndex, byte[] sha256) {
        if (sha256.length != 32) {
            throw new IllegalArgumentException("bucket " + bucketIndex + " of publish " + publishId
                    + ": a SHA-256 has 32 bytes, got " + sha256.length);
        }
        takeBuckets(bucketIndex, bucketIndex + 1);
        digests.set(bucketIndex, sha256.clone());
    }

    /**
     * The chunk records in bucket order, then chunk order, read from the tensor sources as the
     * iterator advances. A source's {@link IOException} surfaces as an {@link UncheckedIOException}
     * naming the tensor.
     */
    public Iterator<WeightChunk> chunks() {
        return chunks(0, bucketCount());
    }

    /**
     * The chunk records of buckets {@code [fromBucket, toBucket)}, as {@link #chunks()}; the
     * iterators of disjoint ranges may run on different threads at the same time.
     */
    public Iterator<WeightChunk> chunks(int fromBucket, int toBucket) {
        takeBuckets(fromBucket, toBucket);
        return new ChunkIterator(fromBucket, toBucket);
    }

    private synchronized void takeBuckets(int fromBucket, int toBucket) {
        if (fromBucket < 0 || toBucket > bucketCount() || fromBucket > toBucket) {
            throw new IndexOutOfBoundsException("buckets [" + fromBucket + ", " + toBucket + ") of publish "
                    + publishId + ", which has " + bucketCount());
        }
        for (int b = fromBucket; b < toBucket; b++) {
            if (bucketsTaken[b]) {
                throw new IllegalStateException("chunks of bucket " + b + " of publish " + publishId
                        + " were already taken");
            }
        }
        for (int b = fromBucket; b < toBucket; b++) {
            bucketsTaken[b] = true;
        }
    }

    /** The manifest that closes this publish; needs the bucket digests, so all chunks must be taken. */
    public VersionManifest manifest() {
        return manifest(System.currentTimeMillis());
    }

    public VersionManifest manifest(long createdAtMs) {
        int bucketsDone = 0;
        for (int b = 0; b < bucketCount(); b++) {
            bucketsDone += digests.get(b) == null ? 0 : 1;
        }
        if (bucketsDone < plan.buckets().size()) {
            throw new IllegalStateException("manifest of publish " + publishId + " needs every chunk encoded first ("
                    + bucketsDone + " of " + plan.buckets().size() + " buckets done)");
        }
        List<BucketInfo> buckets = new ArrayList<>(plan.buckets().size());
        for (BucketPlan.Bucket bucket : plan.buckets()) {
            List<TensorMeta> tensors = new ArrayList<>(bucket.slots().size());
            for (BucketPlan.Slot slot : bucket.slots()) {
                TensorSource t = slot.tensor();
                tensors.add(TensorMeta.newBuilder()
                        .setName(t.name())
                        .setShape(Arrays.stream(t.shape()).boxed().toList())
                        .setDtype(t.dtype().safetensorsName())
                        .setStartIdx(slot.start())
                        .setEndIdx(slot.end())
                        .setNumel(t.numel())
                        .build());
            }
            buckets.add(BucketInfo.newBuilder()
                    .setIndex(bucket.index())
                    .setOffset(bucket.offset())
                    .setSizeBytes(bucket.sizeBytes())
                    .setChunkCount(chunkCounts[bucket.index()])
                    .setSha256(ByteBuffer.wrap(digests.get(bucket.index()).clone()))
                    .setTensors(tensors)
                    .build());
        }
        return digestScheme.declareOn(VersionManifest.newBuilder())
                .setModelId(modelId)
                .setStep(step)
                .setPublishId(publishId)
                .setSchemaVersion(SCHEMA_VERSION)
                .setTotalBytes(plan.totalBytes())
                .setChunkSize(chunkSizeBytes)
                .setBuckets(buckets)
                .setCreatedAtMs(createdAtMs)
                .setSignature(null)
                .build();
    }

    private final class ChunkIterator implements Iterator<WeightChunk> {
        private final CRC32C crc = new CRC32C();
        private BucketHasher digest = digestScheme.newHasher();
        private final int toBucket;
        private int bucket;
        private int chunk;
        private int slotCursor; // first slot of the current bucket that may overlap the next chunk

        ChunkIterator(int fromBucket, int toBucket) {
            this.bucket = fromBucket;
            this.toBucket = toBucket;
        }

        @Override
        public boolean hasNext() {
            return bucket < toBucket;
        }

        @Override
        public WeightChunk next() {
            if (!hasNext()) {
                throw new NoSuchElementException("all " + chunkCount + " chunks of publish " + publishId + " taken");
            }
            BucketPlan.Bucket b = plan.buckets().get(bucket);
            long chunkOffset = (long) chunk * chunkSizeBytes;
            byte[] payload = new byte[(int) Math.min(chunkSizeBytes, b.sizeBytes() - chunkOffset)];
            fill(b, chunkOffset, payload);
            crc.reset();
            crc.update(payload);
            digest.update(payload, 0, payload.length);
            WeightChunk record = WeightChunk.newBuilder()
                    .setModelId(modelId)
                    .setStep(step)
                    .setPublishId(publishId)
                    .setBucketIndex(bucket)
                    .setBucketCount(plan.buckets().size())
                    .setChunkIndex(chunk)
                    .setChunkCount(chunkCounts[bucket])
                    .setBucketOffset(b.offset())
                    .setBucketSize(b.sizeBytes())
                    .setChunkOffset(chunkOffset)
                    .setVersionBytes(plan.totalBytes())
                    .setCrc32c((int) crc.getValue())
                    .setPayload(ByteBuffer.wrap(payload))
                    .build();
            if (++chunk == chunkCounts[bucket]) {
                digests.set(bucket, digest.digest());
                digest = digestScheme.newHasher();
                bucket++;
                chunk = 0;
                slotCursor = 0;
            }
            return record;
        }

        /** Copies the tensor bytes that fall into this chunk; gaps (alignment padding) stay zero. */
        private void fill(BucketPlan.Bucket b, long chunkOffset, byte[] payload) {
            long chunkEnd = chunkOffset + payload.length;
            List<BucketPlan.Slot> slots = b.slots();
            while (slotCursor < slots.size() && slots.get(slotCursor).end() <= chunkOffset) {
                slotCursor++;
            }
            for (int i = slotCursor; i < slots.size(); i++) {
                BucketPlan.Slot slot = slots.get(i);
                if (slot.start() >= chunkEnd) {
                    break;
                }
                long from = Math.max(slot.start(), chunkOffset);
                long to = Math.min(slot.end(), chunkEnd);
                if (from < to) {
                    ByteBuffer dst = ByteBuffer.wrap(payload, (int) (from - chunkOffset), (int) (to - from));
                    try {
                        slot.tensor().read(from - slot.start(), dst);
                    } catch (IOException e) {
                        throw new UncheckedIOException("publish " + publishId + ": reading tensor "
                                + slot.tensor().name() + " failed: " + e.getMessage(), e);
                    }
                    if (dst.hasRemaining()) {
                        throw new IllegalStateException("tensor source " + slot.tensor().name() + " left "
                                + dst.remaining() + " of " + (to - from) + " requested bytes unread");
                    }
                }
            }
        }
    }

    /** Settings of one encoding; {@link #build()} checks them and plans the buckets. */
    public static final class Builder {
        private String modelId;
        private long step = -1;
        private String publishId;
        private List<? extends TensorSource> tensors;
        private long bucketSizeBytes = BucketPlanner.DEFAULT_BUCKET_SIZE;
        private int chunkSizeBytes = DEFAULT_CHUNK_SIZE;
        private DigestScheme digestScheme = DigestScheme.defaultTree();

        private Builder() {
        }

        public Builder modelId(String modelId) {
            this.modelId = modelId;
            return this;
        }

        /** The trainer step this version carries; not negative. */
        public Builder step(long step) {
            this.step = step;
            return this;
        }

        /** Defaults to a random UUID; set it only to re-encode a known publish. */
        public Builder publishId(String publishId) {
            this.publishId = publishId;
            return this;
        }

        public Builder tensors(List<? extends TensorSource> tensors) {
            this.tensors = List.copyOf(tensors);
            return this;
        }

        public Builder bucketSizeBytes(long bucketSizeBytes) {
            this.bucketSizeBytes = bucketSizeBytes;
            return this;
        }

        public Builder chunkSizeBytes(int chunkSizeBytes) {
            this.chunkSizeBytes = chunkSizeBytes;
            return this;
        }

        /**
         * How bucket digests are computed: the tree with {@link DigestScheme#DEFAULT_LEAF_SIZE}-byte
         * leaves unless set; {@link DigestScheme#flat()} writes manifests as publishers before tree digests did.
         */
        public Builder digestScheme(DigestScheme digestScheme) {
            this.digestScheme = Objects.requireNonNull(digestScheme, "digest scheme");
            return this;
        }

        public PublishEncoder build() {
            checkModelId(modelId);
            if (step < 0) {
                throw new IllegalArgumentException("step of model " + modelId + " must be set and not negative, was " + step);
            }
            if (publishId != null && publishId.isBlank()) {
                throw new IllegalArgumentException("publish id must not be blank");
            }
            Objects.requireNonNull(tensors, "tensors of model " + modelId);
            checkChunkSize(chunkSizeBytes);
            return new PublishEncoder(this);
        }
    }

    static void checkModelId(String modelId) {
        // '/' is allowed ("org/name"): keys end in fixed segments without one, and readers parse them from the end.
        if (modelId == null || modelId.isBlank()) {
            throw new IllegalArgumentException("model id '" + modelId + "' must be non-blank");
        }
    }

    static void checkChunkSize(int chunkSizeBytes) {
        if (chunkSizeBytes < 1 || chunkSizeBytes > MAX_CHUNK_SIZE) {
            throw new IllegalArgumentException(
                    "chunk size " + chunkSizeBytes + " must be between 1 and " + MAX_CHUNK_SIZE + " bytes");
        }
    }
}
