package io.weightpub.schemas.signing;

import io.weightpub.schemas.signing.internal.KeyIds;
import io.weightpub.schemas.signing.internal.Pem;
import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.EdECPrivateKey;
import java.security.spec.NamedParameterSpec;
import java.util.Arrays;
import java.util.List;

/**
 * An Ed25519 private key with its public half and key id. Loaded from a PKCS#8 PEM file
 * ({@code -----BEGIN PRIVATE KEY-----}, as {@code openssl genpkey -algorithm ed25519} writes it);
 * the key id is the file's {@code Key-Id:} header if it has one, else the public key's
 * fingerprint ({@link TrustedKey#fingerprint}).
 */
@PublicEvolving
public final class SigningKey {

    private final PrivateKey privateKey;
    private final PublicKey publicKey;
    private final String keyId;

    private SigningKey(PrivateKey privateKey, PublicKey publicKey, String keyId) {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
        this.keyId = keyId;
    }

    /** A fresh key pair from the JDK's strong random source. */
    public static SigningKey generate() {
        try {
            KeyPair pair = KeyPairGenerator.getInstance(Ed25519.ALGORITHM).generateKeyPair();
            return new SigningKey(pair.getPrivate(), pair.getPublic(), KeyIds.fingerprint(pair.getPublic().getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 is part of every JDK since 15", e);
        }
    }

    /** Reads a PKCS#8 Ed25519 private key PEM file. */
    public static SigningKey load(Path file) throws IOException {
        Pem pem = Pem.read(file);
        if (pem.label().equals("ENCRYPTED PRIVATE KEY")) {
            throw new IOException(file + ": encrypted private keys are not supported; protect the file by its"
                    + " permissions (0600) or decrypt it with `openssl pkey -in FILE -out FILE2`");
        }
        if (!pem.label().equals("PRIVATE KEY")) {
            throw new IOException(file + ": expected a PKCS#8 '-----BEGIN PRIVATE KEY-----' block, found '"
                    + pem.label() + "'");
        }
        PrivateKey privateKey;
        try {
            privateKey = Ed25519.privateKey(pem.der());
        } catch (GeneralSecurityException e) {
            throw new IOException(file + ": not an Ed25519 PKCS#8 private key (" + e.getMessage() + ")", e);
        }
        PublicKey publicKey = publicKeyOf(privateKey);
        String keyId = pem.headers().get("key-id");
        return new SigningKey(privateKey, publicKey, keyId == null
                ? KeyIds.fingerprint(publicKey.getEncoded()) : KeyIds.check(keyId, file.toString()));
    }

    /** The same key known by another id (it must match the id the verifiers' key file gives it). */
    public SigningKey withKeyId(String keyId) {
        return new SigningKey(privateKey, publicKey, KeyIds.check(keyId, "signing key"));
    }

    public String keyId() {
        return keyId;
    }

    public PublicKey publicKey() {
        return publicKey;
    }

    /** The public half as a verifier trusts it, allowed for {@code modelPatterns} (empty: every model). */
    public TrustedKey trusted(List<String> modelPatterns) {
        return new TrustedKey(keyId, publicKey.getEncoded(), modelPatterns, "generated key " + keyId);
    }

    PrivateKey privateKey() {
        return privateKey;
    }

    /** The PKCS#8 encoding; write it only to a file only its owner can read. */
    byte[] pkcs8() {
        return privateKey.getEncoded();
    }

    /**
     * The JDK has no call that derives an Ed25519 public key from a private one, but its key pair
     * generator draws the 32-byte private key from the random source and derives the public key
     * from it (RFC 8032 5.1.5): feeding it the loaded private key yields the matching public key.
     */
    private static PublicKey publicKeyOf(PrivateKey privateKey) throws IOException {
        byte[] seed = ((EdECPrivateKey) privateKey).getBytes()
                .orElseThrow(() -> new IOException("the private key's bytes are not accessible"));
        SecureRandom replay = new SecureRandom() {
            @Override
            public void nextBytes(byte[] bytes) {
                System.arraycopy(seed, 0, bytes, 0, Math.min(seed.length, bytes.length));
            }
        };
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance(Ed25519.ALGORITHM);
            generator.initialize(NamedParameterSpec.ED25519, replay);
            KeyPair pair = generator.generateKeyPair();
            // Guards the trick: if a JDK ever drew its key another way, fail instead of signing with a wrong id.
            if (!Arrays.equals(((EdECPrivateKey) pair.getPrivate()).getBytes().orElse(null), seed)) {
                throw new IOException("this JDK's Ed25519 key generator cannot derive a public key;"
                        + " set the key id explicitly");
            }
            return pair.getPublic();
        } catch (GeneralSecurityException e) {
            throw new IOException("could not derive the Ed25519 public key: " + e.getMessage(), e);
        }
    }
}
