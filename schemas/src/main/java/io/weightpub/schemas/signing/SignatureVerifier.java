package io.weightpub.schemas.signing;

import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.signing.internal.CanonicalEncoding;
import org.apache.flink.annotation.PublicEvolving;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Optional;

/**
 * Decides whether a manifest came from a trusted publisher key and a control record from a trusted
 * operator key. Each check returns the reason to reject the record, or empty to accept it:
 * unsigned (when signatures are required), signed by an unknown key id, a signature that does not
 * verify (the record was altered, or signed by another key), or a key not allowed for the model.
 *
 * <p>Without keys of a kind the records of that kind are not checked (nothing to check them with);
 * with keys, signed records are always verified and unsigned ones are accepted only when
 * signatures are explicitly not required. Serializable, so a job builds it from key files where
 * it is submitted and ships it to its tasks; thread-safe.
 */
@PublicEvolving
public final class SignatureVerifier implements Serializable {

    private static final long serialVersionUID = 1L;

    private final TrustedKeys publisherKeys;
    private final TrustedKeys operatorKeys;
    private final boolean manifestsRequired;
    private final boolean controlRequired;

    private SignatureVerifier(Builder b) {
        this.publisherKeys = b.publisherKeys;
        this.operatorKeys = b.operatorKeys;
        this.manifestsRequired = b.required == null ? !publisherKeys.isEmpty() : b.required;
        this.controlRequired = b.required == null ? !operatorKeys.isEmpty() : b.required;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Accepts everything: no keys, nothing required. */
    public static SignatureVerifier acceptingAll() {
        return builder().build();
    }

    public boolean manifestSignaturesRequired() {
        return manifestsRequired;
    }

    public boolean controlSignaturesRequired() {
        return controlRequired;
    }

    /** Why {@code manifest} must not be served, or empty when it may. */
    public Optional<String> checkManifest(VersionManifest manifest) {
        String what = "manifest of model '" + manifest.getModelId() + "' step " + manifest.getStep() + " publish "
                + manifest.getPublishId();
        return check(what, manifest.getModelId(), manifest.getKeyId(), manifest.getSignature(), publisherKeys,
                manifestsRequired, "publisher", () -> CanonicalEncoding.of(manifest));
    }

    /** Why {@code control} must not be obeyed, or empty when it may. */
    public Optional<String> checkControl(ControlRecord control) {
        String what = control.getAction() + " request " + control.getRequestId() + " for model '"
                + control.getModelId() + "'";
        return check(what, control.getModelId(), control.getKeyId(), control.getSignature(), operatorKeys,
                controlRequired, "operator", () -> CanonicalEncoding.of(control));
    }

    private static Optional<String> check(String what, String modelId, String keyId, ByteBuffer signature,
            TrustedKeys keys, boolean required, String kind, java.util.function.Supplier<byte[]> canonical) {
        if (signature == null) {
            return required ? Optional.of(what + " is unsigned; " + kind + " signatures are required") : Optional.empty();
        }
        if (keys.isEmpty()) {
            return Optional.empty();
        }
        if (keyId == null) {
            return Optional.of(what + " has a signature but no key id");
        }
        Optional<TrustedKey> key = keys.find(keyId);
        if (key.isEmpty()) {
            return Optional.of(what + " is signed by unknown " + kind + " key '" + keyId + "'");
        }
        byte[] signatureBytes = new byte[signature.remaining()];
        signature.duplicate().get(signatureBytes);
        if (signatureBytes.length != Ed25519.SIGNATURE_BYTES
                || !Ed25519.verify(key.get().publicKey(), canonical.get(), signatureBytes)) {
            return Optional.of(what + " has a bad signature for " + kind + " key '" + keyId
                    + "': the record was altered after signing or signed by another key");
        }
        if (!key.get().allows(modelId)) {
            return Optional.of(what + " is signed by " + kind + " key '" + keyId + "', which may sign only models "
                    + key.get().modelPatterns());
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return "SignatureVerifier{publisher keys " + publisherKeys + (manifestsRequired ? " required" : "")
                + ", operator keys " + operatorKeys + (controlRequired ? " required" : "") + "}";
    }

    /** Keys of each kind and whether signatures are required. */
    public static final class Builder {

        private TrustedKeys publisherKeys = TrustedKeys.none();
        private TrustedKeys operatorKeys = TrustedKeys.none();
        private Boolean required;
        private boolean manifestsOnly;

        private Builder() {}

        /** Keys trusted to sign manifests (trainers). */
        public Builder publisherKeys(TrustedKeys keys) {
            this.publisherKeys = Objects.requireNonNull(keys, "keys");
            return this;
        }

        /** Keys trusted to sign rollback and abort requests (operators). */
        public Builder operatorKeys(TrustedKeys keys) {
            this.operatorKeys = Objects.requireNonNull(keys, "keys");
            return this;
        }

        /**
         * Whether unsigned records are rejected; {@code null} (the default): required for each kind
         * that has keys. {@code true} with no keys of a kind would reject every record of it and is
         * refused by {@link #build()} unless that kind is never checked ({@link #manifestsOnly()}).
         */
        public Builder required(Boolean required) {
            this.required = required;
            return this;
        }

        /** For a verifier that only ever sees manifests (a worker's sink): operator keys are not needed. */
        public Builder manifestsOnly() {
            this.manifestsOnly = true;
            return this;
        }

        public SignatureVerifier build() {
            if (Boolean.TRUE.equals(required) && publisherKeys.isEmpty()) {
                throw new IllegalArgumentException("signatures are required but no publisher keys are"
                        + " configured: every publish would be rejected");
            }
            if (Boolean.TRUE.equals(required) && !manifestsOnly && operatorKeys.isEmpty()) {
                throw new IllegalArgumentException("signatures are required but no operator keys are"
                        + " configured: every rollback and abort would be refused");
            }
            return new SignatureVerifier(this);
        }
    }
}
