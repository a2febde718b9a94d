package io.weightpub.job;

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
 * Who may publish and who may roll back: the trusted keys the job checks manifests and control
 * records against (docs/security.md). Key files are read where the job is built (the client that
 * submits it) and shipped inside the job, so task managers need no copy of them.
 */
@PublicEvolving
public final class SecurityOptions {

    public static final ConfigOption<String> PUBLISHER_KEYS = ConfigOptions.key("security.publisher-keys")
            .stringType()
            .noDefaultValue()
            .withDescription("Trusted publisher (trainer) public keys: an X.509 PEM file or a folder of *.pem files,"
                    + " each optionally scoped to models by a 'Models: meta/*,qwen/*' line. When set, a manifest"
                    + " that is unsigned, signed by another key, badly signed or out of its key's scope is rejected"
                    + " (dead-lettered, status REJECTED): its version is never committed, and the chunks workers"
                    + " already staged are discarded.");

    public static final ConfigOption<String> OPERATOR_KEYS = ConfigOptions.key("security.operator-keys")
            .stringType()
            .noDefaultValue()
            .withDescription("Trusted operator public keys (file or folder, as security.publisher-keys): rollback"
                    + " and abort requests must be signed by one of them.");

    public static final ConfigOption<Boolean> SIGNATURES_REQUIRED = ConfigOptions.key("security.signatures.required")
            .booleanType()
            .noDefaultValue()
            .withDescription("Reject unsigned manifests and control records. Default: required for each kind whose"
                    + " keys are configured. 'false' accepts unsigned records (signed ones are still verified),"
                    + " for a migration; 'true' without keys is a configuration error.");

    private SecurityOptions() {}

    /** The verifier these options describe; reads the key files now. */
    public static SignatureVerifier verifier(ReadableConfig conf) {
        return SignatureVerifier.builder()
                .publisherKeys(keys(conf, PUBLISHER_KEYS))
                .operatorKeys(keys(conf, OPERATOR_KEYS))
                .required(conf.getOptional(SIGNATURES_REQUIRED).orElse(null))
                .build();
    }

    private static TrustedKeys keys(ReadableConfig conf, ConfigOption<String> option) {
        Optional<String> location = conf.getOptional(option);
        if (location.isEmpty() || location.get().isBlank()) {
            return TrustedKeys.none();
        }
        try {
            return TrustedKeys.load(Path.of(location.get().trim()));
        } catch (IOException e) {
            throw new IllegalArgumentException("--" + option.key() + ": " + e.getMessage(), e);
        }
    }
}
