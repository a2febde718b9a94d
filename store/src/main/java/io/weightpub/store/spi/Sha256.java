package io.weightpub.store.spi;

import org.apache.flink.annotation.PublicEvolving;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 instances for {@link SlotMemory#sha256}; every JVM has the algorithm, so its absence is a broken runtime. */
@PublicEvolving
public final class Sha256 {

    private Sha256() {}

    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }
}
