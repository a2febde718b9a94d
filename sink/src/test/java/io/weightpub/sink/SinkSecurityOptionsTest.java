package io.weightpub.sink;

import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.signing.KeyFiles;
import io.weightpub.schemas.signing.RecordSigner;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.schemas.signing.SigningKey;

import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class SinkSecurityOptionsTest {

    @TempDir
    Path dir;

    @Test
    void aSinkWithPublisherKeysRefusesUnsignedAndForeignManifestsAndNeedsNoOperatorKeys() throws Exception {
        SigningKey trainer = SigningKey.generate();
        Path publicKey = KeyFiles.write(trainer, dir, "trainer", List.of()).publicKey();
        VersionManifest manifest = VersionManifest.newBuilder().setModelId("m").setStep(1).setPublishId("p")
                .setTotalBytes(0).setChunkSize(1).setBuckets(List.of()).setCreatedAtMs(1).build();

        SignatureVerifier verifier = SinkSecurityOptions.verifier(Configuration.fromMap(Map.of(
                SinkSecurityOptions.PUBLISHER_KEYS.key(), publicKey.toString(),
                SinkSecurityOptions.SIGNATURES_REQUIRED.key(), "true")));

        assertThat(verifier.checkManifest(new RecordSigner(trainer).sign(manifest))).isEmpty();
        assertThat(verifier.checkManifest(manifest)).get().asString().contains("is unsigned");
        assertThat(verifier.checkManifest(new RecordSigner(SigningKey.generate()).sign(manifest)))
                .get().asString().contains("unknown publisher key");
        assertThat(SinkSecurityOptions.verifier(new Configuration()).checkManifest(manifest)).isEmpty();

        WeightSink sink = WeightSink.fromConfig(Configuration.fromMap(Map.of(
                SinkSecurityOptions.PUBLISHER_KEYS.key(), publicKey.toString()))).build();
        assertThat(sink.signatures().manifestSignaturesRequired()).isTrue();
        assertThat(sink.signatures().checkManifest(manifest)).get().asString().contains("is unsigned");
        assertThat(WeightSink.builder().build().signatures().checkManifest(manifest)).isEmpty();
    }
}
