package io.weightpub.schemas;

import java.nio.ByteBuffer;
import java.security.MessageDigest;

/** {@code SHA256}: one SHA-256 over the bucket's bytes. */
final class FlatHasher implements BucketHasher {

    private final MessageDigest sha = Sha256.newDigest();

    @Override
    public void update(byte[] bytes, int offset, int length) {
        sha.update(bytes, offset, length);
    }

    @Override
    public void update(ByteBuffer bytes) {
        sha.update(bytes);
    }

    @Override
    public byte[] digest() {
        return sha.digest();
    }
}
