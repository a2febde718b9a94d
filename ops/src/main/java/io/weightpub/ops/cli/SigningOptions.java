package io.weightpub.ops.cli;

import io.weightpub.schemas.signing.RecordSigner;
import io.weightpub.schemas.signing.SigningKey;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/** The operator key that signs a control request (a picocli mixin of rollback and abort). */
@Internal
public final class SigningOptions {

    @Option(names = "--key", paramLabel = "FILE",
            description = "Operator's Ed25519 private key (PKCS#8 PEM) that signs the request;"
                    + " a job with operator keys configured refuses unsigned requests.")
    Path key;

    @Option(names = "--key-id", paramLabel = "ID",
            description = "Key id to sign with (default: the key file's Key-Id line, else the key's fingerprint).")
    String keyId;

    /** The signer, or null when no key was given. */
    RecordSigner signer() throws IOException {
        if (key == null) {
            if (keyId != null) {
                throw new IllegalArgumentException("--key-id needs --key FILE");
            }
            return null;
        }
        SigningKey loaded = SigningKey.load(key);
        return new RecordSigner(keyId == null ? loaded : loaded.withKeyId(keyId));
    }
}
