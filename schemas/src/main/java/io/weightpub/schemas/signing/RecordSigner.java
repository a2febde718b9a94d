package io.weightpub.schemas.signing;

import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.signing.internal.CanonicalEncoding;
import org.apache.flink.annotation.PublicEvolving;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Signs manifests (a trainer's publisher key) and control records (an operator key) with Ed25519
 * over their canonical encoding ({@link CanonicalEncoding}); the signed copy carries the key id,
 * which the signature covers too. Thread-safe.
 */
@PublicEvolving
public final class RecordSigner {

    private final SigningKey key;

    public RecordSigner(SigningKey key) {
        this.key = Objects.requireNonNull(key, "key");
    }

    public String keyId() {
        return key.keyId();
    }

    /** A copy of {@code manifest} with this signer's key id and signature. */
    public VersionManifest sign(VersionManifest manifest) {
        // One copy, so the caller's manifest is never changed; the encoding leaves the signature field out.
        VersionManifest signed = VersionManifest.newBuilder(manifest).setKeyId(key.keyId()).build();
        signed.setSignature(ByteBuffer.wrap(Ed25519.sign(key.privateKey(), CanonicalEncoding.of(signed))));
        return signed;
    }

    /** A copy of {@code control} with this signer's key id and signature. */
    public ControlRecord sign(ControlRecord control) {
        ControlRecord signed = ControlRecord.newBuilder(control).setKeyId(key.keyId()).build();
        signed.setSignature(ByteBuffer.wrap(Ed25519.sign(key.privateKey(), CanonicalEncoding.of(signed))));
        return signed;
    }
}
