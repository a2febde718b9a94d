package io.weightpub.job.assembly;

import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.Configuration;

import java.io.Serializable;

/**
 * The largest publish the job accepts: every size and count a chunk or manifest declares is checked
 * against these before the job allocates or keeps anything for it. Immutable; built from the job's
 * {@link LimitOptions}.
 */
@Internal
public final class PublishLimits implements Serializable {

    private static final long serialVersionUID = 1L;

    private static final PublishLimits DEFAULTS = fromConfig(new Configuration());

    final long maxVersionBytes;
    final int maxBuckets;
    final int maxChunks;
    final int maxChunkBytes;
    final int maxTensors;
    final int maxManifestBytes;
    final long maxStepJump;

    private PublishLimits(long maxVersionBytes, int maxBuckets, int maxChunks, int maxChunkBytes, int maxTensors,
            int maxManifestBytes, long maxStepJump) {
        if (maxVersionBytes < 0 || maxBuckets < 1 || maxChunks < 1 || maxChunkBytes < 1 || maxTensors < 0
                || maxManifestBytes < 1 || maxStepJump < 1) {
            throw new IllegalArgumentException(String.format("limits must be positive: version bytes %d, buckets %d, "
                            + "chunks %d, chunk bytes %d, tensors %d, manifest bytes %d, step jump %d",
                    maxVersionBytes, maxBuckets, maxChunks, maxChunkBytes, maxTensors, maxManifestBytes,
                    maxStepJump));
        }
        this.maxVersionBytes = maxVersionBytes;
        this.maxBuckets = maxBuckets;
        this.maxChunks = maxChunks;
        this.maxChunkBytes = maxChunkBytes;
        this.maxTensors = maxTensors;
        this.maxManifestBytes = maxManifestBytes;
        this.maxStepJump = maxStepJump;
    }

    /** The limits of {@link LimitOptions}' {@code limits.*} options, their defaults where unset. */
    public static PublishLimits fromConfig(Configuration conf) {
        return new PublishLimits(
                conf.get(LimitOptions.MAX_VERSION_BYTES).getBytes(),
                conf.get(LimitOptions.MAX_BUCKETS),
                conf.get(LimitOptions.MAX_CHUNKS),
                toInt(conf.get(LimitOptions.MAX_CHUNK_BYTES).getBytes(), LimitOptions.MAX_CHUNK_BYTES.key()),
                conf.get(LimitOptions.MAX_TENSORS),
                toInt(conf.get(LimitOptions.MAX_MANIFEST_BYTES).getBytes(), LimitOptions.MAX_MANIFEST_BYTES.key()),
                conf.get(LimitOptions.MAX_STEP_JUMP));
    }

    /** The default limits: enough for models up to 1 TB. */
    public static PublishLimits defaults() {
        return DEFAULTS;
    }

    private static int toInt(long bytes, String key) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(key + " of " + bytes + " bytes: at most " + Integer.MAX_VALUE);
        }
        return (int) bytes;
    }

    @Override
    public String toString() {
        return String.format("PublishLimits{versionBytes=%d, buckets=%d, chunks=%d, chunkBytes=%d, tensors=%d, "
                        + "manifestBytes=%d, stepJump=%d}", maxVersionBytes, maxBuckets, maxChunks, maxChunkBytes,
                maxTensors, maxManifestBytes, maxStepJump);
    }
}
