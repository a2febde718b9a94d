package io.weightpub.job.assembly;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.ManifestValidator;
import io.weightpub.schemas.VersionManifest;

import java.io.Serializable;
import java.util.Optional;

/**
 * The checks a chunk or manifest passes before the job allocates or stores anything for it (a chunk
 * alone in its {@link ChunkChecker}, against its publish in its {@link VersionCoordinator}):
 * every size, count and offset it declares against the {@link PublishLimits}, against each other
 * (without overflow) and against what the publish's earlier records said. Each returns why the
 * record is refused, or empty.
 */
final class PublishChecks implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Longest publish id: ids are kept in state (outcomes of recent publishes) and in every event. */
    static final int MAX_PUBLISH_ID_CHARS = 256;

    private final PublishLimits limits;

    PublishChecks(PublishLimits limits) {
        this.limits = limits;
    }

    // ---------------------------------------------------------------- a publish's first record

    /** The sizes a publish's first chunk declares for the whole version. */
    Optional<String> newPublish(ChunkReceipt chunk) {
        Optional<String> id = publishId(chunk.publishId());
        return id.isPresent() ? id : versionSize(chunk.versionBytes(), chunk.bucketCount(), "chunk");
    }

    /**
     * Every check a chunk can pass or fail on its own, without state: what it declares for its
     * version against the limits, and its bucket and chunk geometry against each other, as if it
     * were its publish's first chunk. What it must agree with in other records is {@link #chunk}'s.
     */
    Optional<String> chunkAlone(ChunkReceipt chunk) {
        Optional<String> version = newPublish(chunk);
        if (version.isPresent()) {
            return version;
        }
        return chunk(new PublishAssembly(chunk.modelId(), chunk.publishId(), chunk.step(), chunk.versionBytes(),
                chunk.bucketCount(), 0), chunk);
    }

    private static Optional<String> publishId(String publishId) {
        if (publishId.isEmpty() || publishId.length() > MAX_PUBLISH_ID_CHARS) {
            return Optional.of(String.format("publish id of %d characters; expected 1 to %d", publishId.length(),
                    MAX_PUBLISH_ID_CHARS));
        }
        return Optional.empty();
    }

    private Optional<String> versionSize(long versionBytes, int bucketCount, String what) {
        if (versionBytes < 0 || versionBytes > limits.maxVersionBytes) {
            return Optional.of(String.format("%s says the version has %d bytes; expected 0 to %d (%s)", what,
                    versionBytes, limits.maxVersionBytes, LimitOptions.MAX_VERSION_BYTES.key()));
        }
        if (bucketCount <= 0 || bucketCount > limits.maxBuckets || bucketCount > Math.max(1, versionBytes)) {
            return Optional.of(String.format("%s says the version has %d buckets; expected 1 to %d (%s) and no more "
                            + "than its %d bytes", what, bucketCount, limits.maxBuckets, LimitOptions.MAX_BUCKETS.key(),
                    versionBytes));
        }
        return Optional.empty();
    }

    /** A step too far past the model's watermark: one wrong step would make every later publish stale. */
    Optional<String> stepJump(ModelLedger ledger, long step) {
        if (ledger.lastStep == Long.MIN_VALUE) {
            return Optional.empty(); // no watermark: the model's first publish, or after a reset that forgot it
        }
        if (step > ledger.lastStep && step - ledger.lastStep > limits.maxStepJump) {
            return Optional.of(String.format("trainer step %d is more than %d (%s) past step %d of published "
                            + "version %d; if the trainer really moved on, reset the watermark with "
                            + "`weightpub reset-step`", step, limits.maxStepJump, LimitOptions.MAX_STEP_JUMP.key(),
                    ledger.lastStep, ledger.lastVersion));
        }
        return Optional.empty();
    }

    // ---------------------------------------------------------------- chunks

    /** A chunk against its own publish: sizes, bucket geometry, chunk placement and the limits. */
    Optional<String> chunk(PublishAssembly progress, ChunkReceipt chunk) {
        int payloadLength = chunk.payloadLength();
        if (chunk.step() != progress.step || chunk.versionBytes() != progress.versionBytes
                || chunk.bucketCount() != progress.bucketCount) {
            return Optional.of(String.format("chunk says step %d, %d bytes, %d buckets; the publish has step %d, %d "
                            + "bytes, %d buckets", chunk.step(), chunk.versionBytes(), chunk.bucketCount(),
                    progress.step, progress.versionBytes, progress.bucketCount));
        }
        int bucketIndex = chunk.bucketIndex();
        if (bucketIndex < 0 || bucketIndex >= progress.bucketCount) {
            return Optional.of("bucket index " + bucketIndex + " outside [0, " + progress.bucketCount + ")");
        }
        PublishAssembly.BucketProgress bucket = progress.bucket(bucketIndex);
        if (bucket != null && (bucket.offset != chunk.bucketOffset() || bucket.size != chunk.bucketSize()
                || bucket.chunkCount != chunk.chunkCount())) {
            return Optional.of(String.format("chunk says bucket %d is at offset %d with %d bytes in %d chunks; "
                            + "expected offset %d, %d bytes, %d chunks", bucketIndex, chunk.bucketOffset(),
                    chunk.bucketSize(), chunk.chunkCount(), bucket.offset, bucket.size, bucket.chunkCount));
        }
        // Compared as differences: bucket_offset + bucket_size can overflow a long.
        if (chunk.bucketOffset() < 0 || chunk.bucketSize() < 0 || chunk.bucketOffset() > progress.versionBytes
                || chunk.bucketSize() > progress.versionBytes - chunk.bucketOffset()) {
            return Optional.of(String.format("bucket %d at offset %d with %d bytes does not fit a version of %d bytes",
                    bucketIndex, chunk.bucketOffset(), chunk.bucketSize(), progress.versionBytes));
        }
        Optional<String> ends = bucketEnds(progress, chunk);
        if (ends.isPresent()) {
            return ends;
        }
        if (bucket == null) {
            Optional<String> count = newBucketChunkCount(progress, chunk);
            if (count.isPresent()) {
                return count;
            }
        }
        if (chunk.chunkIndex() < 0 || chunk.chunkIndex() >= chunk.chunkCount()) {
            return Optional.of("chunk index " + chunk.chunkIndex() + " outside [0, " + chunk.chunkCount() + ")");
        }
        if (payloadLength > limits.maxChunkBytes) {
            return Optional.of(String.format("chunk payload of %d bytes is over %d (%s)", payloadLength,
                    limits.maxChunkBytes, LimitOptions.MAX_CHUNK_BYTES.key()));
        }
        if (chunk.chunkOffset() < 0 || chunk.chunkOffset() > chunk.bucketSize()
                || payloadLength > chunk.bucketSize() - chunk.chunkOffset()) {
            return Optional.of(String.format("chunk of %d bytes at offset %d outside bucket %d of %d bytes",
                    payloadLength, chunk.chunkOffset(), bucketIndex, chunk.bucketSize()));
        }
        return chunkGeometry(progress, chunk);
    }

    /**
     * Buckets lie end to end from offset 0 (as the publisher writes them and {@link ManifestValidator}
     * requires), so one chunk proves where its version starts and, from the last bucket, where it ends.
     * A non-last bucket cannot refute a larger version size: the buckets after it may hold the rest.
     */
    private static Optional<String> bucketEnds(PublishAssembly progress, ChunkReceipt chunk) {
        int bucketIndex = chunk.bucketIndex();
        if (bucketIndex == 0 && chunk.bucketOffset() != 0) {
            return Optional.of(String.format("bucket 0 at offset %d; the first bucket starts at offset 0",
                    chunk.bucketOffset()));
        }
        // bucket_offset + bucket_size fits a long here: the caller checked it against version_bytes.
        long end = chunk.bucketOffset() + chunk.bucketSize();
        if (bucketIndex == progress.bucketCount - 1 && end != progress.versionBytes) {
            return Optional.of(String.format("last bucket %d of %d ends at byte %d (offset %d + %d bytes); the "
                            + "version is said to have %d bytes", bucketIndex, progress.bucketCount, end,
                    chunk.bucketOffset(), chunk.bucketSize(), progress.versionBytes));
        }
        return Optional.empty();
    }

    /** The chunk count a bucket's first chunk declares: at most one chunk per byte, within the limit. */
    private Optional<String> newBucketChunkCount(PublishAssembly progress, ChunkReceipt chunk) {
        long declared = progress.declaredChunks();
        if (chunk.chunkCount() <= 0 || chunk.chunkCount() > Math.max(1, chunk.bucketSize())
                || chunk.chunkCount() > limits.maxChunks - declared) {
            return Optional.of(String.format("bucket %d of %d bytes in %d chunks: expected 1 chunk per byte at most "
                            + "and at most %d chunks per version (%s), %d of them declared by its other buckets",
                    chunk.bucketIndex(), chunk.bucketSize(), chunk.chunkCount(), limits.maxChunks,
                    LimitOptions.MAX_CHUNKS.key(), declared));
        }
        return Optional.empty();
    }

    /**
     * Every chunk of a publish is cut at one size: the manifest's, or, before the manifest arrives,
     * the size its chunks imply. So a chunk cut wrongly is caught as it arrives, whether its manifest
     * came first or not.
     */
    private Optional<String> chunkGeometry(PublishAssembly progress, ChunkReceipt chunk) {
        int payloadLength = chunk.payloadLength();
        int bucketIndex = chunk.bucketIndex();
        long chunkSize = progress.chunkSize > 0 ? progress.chunkSize : impliedChunkSize(chunk);
        if (chunkSize <= 0) {
            // The one chunk of a one-chunk bucket implies no size: it must hold the whole bucket.
            if (chunk.chunkIndex() == 0 && chunk.chunkCount() == 1
                    && chunk.chunkOffset() == 0 && payloadLength == chunk.bucketSize()) {
                return Optional.empty();
            }
            return Optional.of(String.format("chunk %d of %d of bucket %d has %d bytes at offset %d: no chunk size "
                            + "cuts a bucket of %d bytes that way", chunk.chunkIndex(), chunk.chunkCount(),
                    bucketIndex, payloadLength, chunk.chunkOffset(), chunk.bucketSize()));
        }
        if (chunkSize > limits.maxChunkBytes) {
            return Optional.of(String.format("chunk %d of bucket %d at offset %d implies chunks of %d bytes; at most "
                            + "%d (%s)", chunk.chunkIndex(), bucketIndex, chunk.chunkOffset(), chunkSize,
                    limits.maxChunkBytes, LimitOptions.MAX_CHUNK_BYTES.key()));
        }
        // chunkIndex and chunkSize are below 2^31: the product fits a long.
        long expectedOffset = chunk.chunkIndex() * chunkSize;
        long expectedLength = Math.min(chunkSize, chunk.bucketSize() - expectedOffset);
        long expectedChunks = ManifestValidator.chunkCount(chunk.bucketSize(), (int) chunkSize);
        if (chunk.chunkOffset() != expectedOffset || payloadLength != expectedLength
                || chunk.chunkCount() != expectedChunks) {
            String source = progress.manifest != null ? "the manifest's chunk size"
                    : progress.chunkSize > 0 ? "the chunk size of the publish's earlier chunks"
                    : "the chunk size the chunk itself implies";
            return Optional.of(String.format("chunk %d of %d of bucket %d has %d bytes at offset %d; with %s, %d, "
                            + "expected %d bytes at offset %d in %d chunks", chunk.chunkIndex(), chunk.chunkCount(),
                    bucketIndex, payloadLength, chunk.chunkOffset(), source, chunkSize, expectedLength,
                    expectedOffset, expectedChunks));
        }
        return Optional.empty();
    }

    /** The chunk size a chunk implies: its offset over its index, or a first chunk's length; -1 for none. */
    static long impliedChunkSize(ChunkReceipt chunk) {
        if (chunk.chunkIndex() > 0) {
            return chunk.chunkOffset() / chunk.chunkIndex();
        }
        return chunk.chunkCount() > 1 ? chunk.payloadLength() : -1;
    }

    // ---------------------------------------------------------------- manifests

    /** A manifest record's size, before it is decoded. */
    Optional<String> manifestRecordSize(int bytes) {
        if (bytes > limits.maxManifestBytes) {
            return Optional.of(String.format("manifest record of %d bytes is over %d (%s)", bytes,
                    limits.maxManifestBytes, LimitOptions.MAX_MANIFEST_BYTES.key()));
        }
        return Optional.empty();
    }

    /** The manifest in itself: the limits, then {@link ManifestValidator}'s rules. */
    Optional<String> manifest(VersionManifest manifest) {
        Optional<String> id = publishId(manifest.getPublishId());
        if (id.isPresent()) {
            return id;
        }
        Optional<String> size = versionSize(manifest.getTotalBytes(), manifest.getBuckets().size(), "manifest");
        if (size.isPresent()) {
            return size;
        }
        if (manifest.getChunkSize() > limits.maxChunkBytes) {
            return Optional.of(String.format("chunk size %d is over %d (%s)", manifest.getChunkSize(),
                    limits.maxChunkBytes, LimitOptions.MAX_CHUNK_BYTES.key()));
        }
        long chunks = 0;
        long tensors = 0;
        for (BucketInfo bucket : manifest.getBuckets()) {
            chunks += Math.max(0, bucket.getChunkCount());
            tensors += bucket.getTensors().size();
        }
        if (chunks > limits.maxChunks) {
            return Optional.of(String.format("%d chunks; at most %d per version (%s)", chunks, limits.maxChunks,
                    LimitOptions.MAX_CHUNKS.key()));
        }
        if (tensors > limits.maxTensors) {
            return Optional.of(String.format("%d tensors; at most %d per version (%s)", tensors, limits.maxTensors,
                    LimitOptions.MAX_TENSORS.key()));
        }
        return ManifestValidator.validate(manifest);
    }

    /** The manifest against what the publish's chunks said. */
    static Optional<String> manifestAgainstProgress(PublishAssembly progress, VersionManifest manifest) {
        if (progress.chunkSize > 0 && progress.chunkSize != manifest.getChunkSize()) {
            return Optional.of(String.format("manifest says chunk size %d; its chunks were cut at %d",
                    manifest.getChunkSize(), progress.chunkSize));
        }
        if (manifest.getStep() != progress.step || manifest.getTotalBytes() != progress.versionBytes
                || manifest.getBuckets().size() != progress.bucketCount) {
            return Optional.of(String.format("manifest says step %d, %d bytes, %d buckets; its chunks say step %d, "
                            + "%d bytes, %d buckets", manifest.getStep(), manifest.getTotalBytes(),
                    manifest.getBuckets().size(), progress.step, progress.versionBytes, progress.bucketCount));
        }
        for (BucketInfo bucket : manifest.getBuckets()) {
            PublishAssembly.BucketProgress seen = progress.bucket(bucket.getIndex());
            if (seen != null && (seen.offset != bucket.getOffset() || seen.size != bucket.getSizeBytes()
                    || seen.chunkCount != bucket.getChunkCount())) {
                return Optional.of(String.format("manifest says bucket %d is at offset %d with %d bytes in %d "
                                + "chunks; its chunks say offset %d, %d bytes, %d chunks", bucket.getIndex(),
                        bucket.getOffset(), bucket.getSizeBytes(), bucket.getChunkCount(), seen.offset, seen.size,
                        seen.chunkCount));
            }
        }
        return Optional.empty();
    }
}
