package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of checking a staged publish against its manifest: the bucket digests computed on
 * the bytes that reached the slot, and any manifest problem (sizes, coverage, tensor bounds).
 */
@PublicEvolving
public record VerifyResult(
        String modelId, String publishId, List<BucketMismatch> mismatches, List<String> problems,
        long bytesVerified, long durationNanos) {

    /**
     * A bucket whose bytes in the slot do not have the manifest's digest; {@code digest} names how it
     * was computed ({@code SHA256}, or {@code SHA256_TREE(leaf N)}).
     */
    public record BucketMismatch(int bucketIndex, long offset, long sizeBytes, byte[] expectedSha256,
            byte[] actualSha256, String digest) {

        public BucketMismatch {
            expectedSha256 = expectedSha256.clone();
            actualSha256 = actualSha256.clone();
            Objects.requireNonNull(digest, "digest");
        }

        /** A mismatch of the plain SHA-256 of the bucket. */
        public BucketMismatch(int bucketIndex, long offset, long sizeBytes, byte[] expectedSha256,
                byte[] actualSha256) {
            this(bucketIndex, offset, sizeBytes, expectedSha256, actualSha256, "SHA256");
        }

        @Override
        public byte[] expectedSha256() {
            return expectedSha256.clone();
        }

        @Override
        public byte[] actualSha256() {
            return actualSha256.clone();
        }

        @Override
        public String toString() {
            return "bucket " + bucketIndex + " (bytes [" + offset + ", " + (offset + sizeBytes) + ")): expected sha256 (" + digest + ") "
                    + HexFormat.of().formatHex(expectedSha256) + ", slot has " + HexFormat.of().formatHex(actualSha256);
        }
    }

    public VerifyResult {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(publishId, "publishId");
        mismatches = List.copyOf(mismatches);
        problems = List.copyOf(problems);
    }

    public boolean ok() {
        return mismatches.isEmpty() && problems.isEmpty();
    }

    /** The indices of the buckets whose digest failed. */
    public List<Integer> failedBuckets() {
        return mismatches.stream().map(BucketMismatch::bucketIndex).toList();
    }

    /** One line naming the model, the publish and every failure. */
    public String describe() {
        if (ok()) {
            return "publish " + publishId + " of model " + modelId + ": " + bytesVerified + " bytes verified";
        }
        StringBuilder out = new StringBuilder("publish ").append(publishId).append(" of model ").append(modelId)
                .append(" failed verification: ");
        String sep = "";
        for (String problem : problems) {
            out.append(sep).append(problem);
            sep = "; ";
        }
        for (BucketMismatch mismatch : mismatches) {
            out.append(sep).append(mismatch);
            sep = "; ";
        }
        return out.toString();
    }
}
