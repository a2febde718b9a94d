package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

import java.util.HexFormat;

/** One bucket of an active version: bytes {@code [offset, offset + sizeBytes)} and the SHA-256 its manifest names. */
@PublicEvolving
public record BucketDigest(int index, long offset, long sizeBytes, String sha256Hex) {

    public static BucketDigest of(int index, long offset, long sizeBytes, byte[] sha256) {
        return new BucketDigest(index, offset, sizeBytes, HexFormat.of().formatHex(sha256));
    }
}
