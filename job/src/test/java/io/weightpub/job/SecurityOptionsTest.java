package io.weightpub.job;

import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.signing.KeyFiles;
import io.weightpub.schemas.signing.RecordSigner;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.schemas.signing.SigningKey;

import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SecurityOptionsTest {

    @TempDir
    Path dir;

    private static final VersionManifest MANIFEST = VersionManifest.newBuilder().setModelId("meta/m").setStep(1)
            .setPublishId("p").setTotalBytes(0).setChunkSize(1).setBuckets(List.of()).setCreatedAtMs(1).build();
    private static final ControlRecord ROLLBACK = ControlRecord.newBuilder().setModelId("meta/m")
            .setAction(ControlAction.ROLLBACK).setTargetVersion(1L).setRequestId("r").setRequestedAtMs(1).build();

    @Test
    void withoutKeysNothingIsCheckedAndWithKeysSignaturesAreRequiredByDefault() throws Exception {
        SigningKey trainer = SigningKey.generate();
        SigningKey operator = SigningKey.generate();
        Path trainers = Files.createDirectories(dir.resolve("trainers"));
        Path operators = Files.createDirectories(dir.resolve("operators"));
        Files.move(KeyFiles.write(trainer, dir, "t", List.of("meta/*")).publicKey(), trainers.resolve("t.pem"));
        Files.move(KeyFiles.write(operator, dir, "o", List.of()).publicKey(), operators.resolve("o.pem"));

        SignatureVerifier none = SecurityOptions.verifier(new Configuration());
        assertThat(none.checkManifest(MANIFEST)).isEmpty();
        assertThat(none.checkControl(ROLLBACK)).isEmpty();

        SignatureVerifier verifier = SecurityOptions.verifier(Configuration.fromMap(Map.of(
                SecurityOptions.PUBLISHER_KEYS.key(), trainers.toString(),
                SecurityOptions.OPERATOR_KEYS.key(), operators.resolve("o.pem").toString())));
        assertThat(verifier.checkManifest(MANIFEST)).get().asString().contains("is unsigned");
        assertThat(verifier.checkControl(ROLLBACK)).get().asString().contains("is unsigned");
        assertThat(verifier.checkManifest(new RecordSigner(trainer).sign(MANIFEST))).isEmpty();
        assertThat(verifier.checkControl(new RecordSigner(operator).sign(ROLLBACK))).isEmpty();

        SignatureVerifier onlyPublishers = SecurityOptions.verifier(Configuration.fromMap(Map.of(
                SecurityOptions.PUBLISHER_KEYS.key(), trainers.toString())));
        assertThat(onlyPublishers.manifestSignaturesRequired()).isTrue();
        assertThat(onlyPublishers.controlSignaturesRequired()).as("no operator keys: rollbacks unchecked").isFalse();

        SignatureVerifier migrating = SecurityOptions.verifier(Configuration.fromMap(Map.of(
                SecurityOptions.PUBLISHER_KEYS.key(), trainers.toString(),
                SecurityOptions.SIGNATURES_REQUIRED.key(), "false")));
        assertThat(migrating.checkManifest(MANIFEST)).isEmpty();
    }

    @Test
    void unreadableKeysAndRequiredSignaturesWithoutKeysFailTheJobBuildNamingTheOption() {
        assertThatThrownBy(() -> SecurityOptions.verifier(Configuration.fromMap(Map.of(
                SecurityOptions.PUBLISHER_KEYS.key(), dir.resolve("missing.pem").toString()))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("--security.publisher-keys: ");
        assertThatThrownBy(() -> SecurityOptions.verifier(Configuration.fromMap(Map.of(
                SecurityOptions.SIGNATURES_REQUIRED.key(), "true"))))
                .hasMessageContaining("no publisher keys are configured");
    }
}
