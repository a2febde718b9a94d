package io.weightpub.schemas.signing;

import io.weightpub.schemas.signing.internal.KeyIds;
import io.weightpub.schemas.signing.internal.ModelGlob;
import io.weightpub.schemas.signing.internal.Pem;
import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A public key a verifier trusts: its key id, the X.509 SubjectPublicKeyInfo encoding, and the
 * model ids it may sign for. In a PEM file ({@code -----BEGIN PUBLIC KEY-----}, as
 * {@code openssl pkey -pubout} writes it) two optional lines before the block set them:
 *
 * <pre>
 * Key-Id: trainer-a            (default: the fingerprint, 16 hex digits of the key's SHA-256)
 * Models: meta/*, qwen/?b      (default: every model; '*' any run of characters, '?' one)
 * -----BEGIN PUBLIC KEY-----
 * </pre>
 *
 * Serializable so a Flink job can load keys where it is built and ship them to its tasks.
 */
@PublicEvolving
public final class TrustedKey implements Serializable {

    private static final long serialVersionUID = 1L;

    private final String keyId;
    private final byte[] subjectPublicKeyInfo;
    private final List<String> modelPatterns;
    private final String source;
    private transient PublicKey publicKey;

    TrustedKey(String keyId, byte[] subjectPublicKeyInfo, List<String> modelPatterns, String source) {
        this.keyId = KeyIds.check(keyId, source);
        this.subjectPublicKeyInfo = subjectPublicKeyInfo.clone();
        this.modelPatterns = List.copyOf(modelPatterns);
        this.source = source;
        try {
            this.publicKey = Ed25519.publicKey(this.subjectPublicKeyInfo);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(source + ": not an Ed25519 public key (" + e.getMessage() + ")", e);
        }
    }

    /** Reads one public key PEM file with its optional {@code Key-Id:} and {@code Models:} lines. */
    public static TrustedKey load(Path file) throws IOException {
        Pem pem = Pem.read(file);
        if (pem.label().contains("PRIVATE KEY")) {
            throw new IOException(file + ": is a private key; trust only public keys"
                    + " (`openssl pkey -in KEY -pubout` writes one)");
        }
        if (!pem.label().equals("PUBLIC KEY")) {
            throw new IOException(file + ": expected an X.509 '-----BEGIN PUBLIC KEY-----' block, found '"
                    + pem.label() + "'");
        }
        Map<String, String> headers = pem.headers();
        String keyId = headers.getOrDefault("key-id", KeyIds.fingerprint(pem.der()));
        try {
            return new TrustedKey(keyId, pem.der(), parseModels(headers.get("models")), file.toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** The default key id of a public key: 16 hex digits of the SHA-256 of its X.509 encoding. */
    public static String fingerprint(PublicKey key) {
        return KeyIds.fingerprint(key.getEncoded());
    }

    static List<String> parseModels(String header) {
        if (header == null || header.isBlank()) {
            return List.of();
        }
        return Arrays.stream(header.split(",")).map(String::trim).filter(p -> !p.isEmpty()).toList();
    }

    public String keyId() {
        return keyId;
    }

    /** The model patterns; empty when the key may sign for every model. */
    public List<String> modelPatterns() {
        return modelPatterns;
    }

    /** Where the key came from (its file), for messages. */
    public String source() {
        return source;
    }

    public boolean allows(String modelId) {
        return modelPatterns.isEmpty() || modelPatterns.stream().anyMatch(p -> ModelGlob.matches(p, modelId));
    }

    /** The PEM text of this key, with the header lines that make a verifier read it back the same. */
    public String pem(boolean withKeyIdLine) {
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        if (withKeyIdLine) {
            headers.put("Key-Id", keyId);
        }
        if (!modelPatterns.isEmpty()) {
            headers.put("Models", String.join(", ", modelPatterns));
        }
        return new Pem("PUBLIC KEY", subjectPublicKeyInfo, headers).text();
    }

    PublicKey publicKey() {
        if (publicKey == null) {
            try {
                publicKey = Ed25519.publicKey(subjectPublicKeyInfo);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(source + ": checked when loaded", e);
            }
        }
        return publicKey;
    }

    @Override
    public String toString() {
        return keyId + (modelPatterns.isEmpty() ? "" : " " + modelPatterns) + " (" + source + ")";
    }
}
