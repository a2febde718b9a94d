package io.weightpub.store.internal;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.DigestScheme;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** The parts of verifying a staged publish that need no slot: the manifest's layout against it, digests. */
final class StagedVerification {

    private StagedVerification() {}

    /** Where the manifest disagrees with the staged publish or lays its buckets out wrongly. */
    static List<String> manifestProblems(String modelId, String publishId, long versionBytes,
            VersionManifest manifest, List<BucketInfo> buckets) {
        List<String> problems = new ArrayList<>();
        if (!manifest.getModelId().toString().equals(modelId)
                || !manifest.getPublishId().toString().equals(publishId)) {
            problems.add("manifest is for publish " + manifest.getPublishId() + " of model " + manifest.getModelId());
        }
        if (manifest.getTotalBytes() != versionBytes) {
            problems.add("manifest has " + manifest.getTotalBytes() + " bytes, the publish was staged with "
                    + versionBytes);
        }
        long expectedOffset = 0;
        for (BucketInfo bucket : buckets) {
            if (bucket.getOffset() != expectedOffset || bucket.getSizeBytes() < 0) {
                problems.add("bucket " + bucket.getIndex() + " covers [" + bucket.getOffset() + ", "
                        + (bucket.getOffset() + bucket.getSizeBytes()) + "), expected to start at " + expectedOffset);
            }
            if (bucket.getSha256().remaining() != 32) {
                problems.add("bucket " + bucket.getIndex() + " has a " + bucket.getSha256().remaining()
                        + "-byte digest, SHA-256 has 32");
            }
            expectedOffset = bucket.getOffset() + Math.max(0, bucket.getSizeBytes());
        }
        if (problems.isEmpty() && expectedOffset != versionBytes) {
            problems.add("buckets end at " + expectedOffset + ", the version has " + versionBytes + " bytes");
        }
        return problems;
    }

    /** The digest the manifest declares; the flat one, with the reason added to {@code problems}, when it is unusable. */
    static DigestScheme digestScheme(VersionManifest manifest, List<String> problems) {
        try {
            return DigestScheme.of(manifest);
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
            return DigestScheme.flat();
        }
    }

    static byte[] await(Future<byte[]> digest, String modelId, String publishId, int bucket) {
        try {
            return digest.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while hashing bucket " + bucket + " of publish " + publishId
                    + " of model " + modelId, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("hashing bucket " + bucket + " of publish " + publishId + " of model "
                    + modelId + " failed", e.getCause());
        }
    }

    static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer copy = buffer.duplicate();
        byte[] out = new byte[copy.remaining()];
        copy.get(out);
        return out;
    }
}
