package io.weightpub.schemas;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 instances; every JVM has the algorithm, so its absence is a broken runtime. */
final class Sha256 {

    private Sha256() {}

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }
}
