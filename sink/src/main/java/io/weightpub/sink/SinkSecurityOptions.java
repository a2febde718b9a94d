package io.weightpub.sink;

import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.schemas.signing.TrustedKeys;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Defence in depth on the workers: the sink re-checks the signature of the manifest it receives
 * with each commit, so a compromised job path cannot make a worker serve unsigned weights. Keys
 * are read where the sink is built and travel with it.
 */
@PublicEvolving
public final class SinkSecurityOptions {

    public static final ConfigOption<String> PUBLISHER_KEYS = ConfigOptions.key("weightpub.sink.security.publisher-keys")
            .stringType()
            .noDefaultValue()
            .withDescription("Trusted publisher public keys (an X.509 PEM file or a folder of *.pem files): the sink"
                    + " refuses to commit a version whose manifest does not verify with one of them (status FAILED).");

    public static final ConfigOption<Boolean> SIGNATURES_REQUIRED =
            ConfigOptions.key("weightpub.sink.security.signatures.required")
                    .booleanType()
                    .noDefaultValue()
                    .withDescription("Refuse unsigned manifests. Default: required when publisher keys are configured.");

    private SinkSecurityOptions() {}

    /** The manifest verifier these options describe; reads the key files now. */
    public static SignatureVerifier verifier(ReadableConfig conf) {
        Optional<String> location = conf.getOptional(PUBLISHER_KEYS).filter(s -> !s.isBlank());
        TrustedKeys keys = TrustedKeys.none();
        if (location.isPresent()) {
            try {
                keys = TrustedKeys.load(Path.of(location.get().trim()));
            } catch (IOException e) {
                throw new IllegalArgumentException(PUBLISHER_KEYS.key() + ": " + e.getMessage(), e);
            }
        }
        return SignatureVerifier.builder().publisherKeys(keys).manifestsOnly()
                .required(conf.getOptional(SIGNATURES_REQUIRED).orElse(null)).build();
    }
}
