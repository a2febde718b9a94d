package io.weightpub.schemas;

import org.apache.flink.annotation.PublicEvolving;

import java.nio.ByteBuffer;

/** A bucket's digest computed over its bytes given in order; one bucket per instance, not thread-safe. */
@PublicEvolving
public interface BucketHasher {

    void update(byte[] bytes, int offset, int length);

    void update(ByteBuffer bytes);

    /** The bucket's 32-byte digest; the hasher is spent afterwards. */
    byte[] digest();
}
