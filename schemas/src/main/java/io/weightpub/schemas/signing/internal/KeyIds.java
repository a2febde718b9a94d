package io.weightpub.schemas.signing.internal;

import org.apache.flink.annotation.Internal;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** Key ids: a key's fingerprint unless a file names it explicitly. */
@Internal
public final class KeyIds {

    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private KeyIds() {}

    /** The first 16 hex digits (8 bytes) of the SHA-256 of the public key's X.509 SubjectPublicKeyInfo DER. */
    public static String fingerprint(byte[] subjectPublicKeyInfo) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(subjectPublicKeyInfo);
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    public static String check(String keyId, String where) {
        if (keyId == null || !VALID.matcher(keyId).matches()) {
            throw new IllegalArgumentException(where + ": key id '" + keyId
                    + "' must be 1 to 64 characters of letters, digits, '.', '_' and '-'");
        }
        return keyId;
    }
}
