package io.weightpub.publisher;

import io.weightpub.publisher.testutils.TopicReader;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.signing.KeyFiles;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.schemas.signing.SigningKey;
import io.weightpub.schemas.signing.TrustedKeys;
import io.weightpub.testutils.KafkaClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SignedPublishITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @TempDir
    Path dir;

    @Test
    void aPublisherWithASigningKeyPublishesManifestsThatVerifyWithItsPublicKey() throws Exception {
        KeyFiles.Written key = KeyFiles.write(SigningKey.generate(), dir.resolve("keys"), "trainer", List.of());
        Path checkpoint = SyntheticCheckpoint.builder().hiddenSize(64).layers(2).build().write(dir.resolve("ckpt"));
        TopicNames topics = TopicNames.of("signed");
        PublishResult result;
        try (WeightPublisher publisher = WeightPublisher.builder()
                .configure(Map.of(
                        PublisherOptions.BOOTSTRAP_SERVERS.key(), KAFKA.bootstrapServers(),
                        PublisherOptions.TOPIC_PREFIX.key(), "signed",
                        PublisherOptions.SIGNING_KEY.key(), key.privateKey().toString()))
                .build()) {
            result = publisher.publish("meta/tiny", 3, checkpoint);
        }
        assertThat(result.manifest().getKeyId()).isEqualTo(key.keyId());

        ConsumerRecord<byte[], byte[]> record =
                TopicReader.readAll(KAFKA.bootstrapServers(), topics.manifests(), true).get(0);
        VersionManifest read = WireCodec.MANIFEST.decode(record.value());
        assertThat(read.getKeyId()).isEqualTo(key.keyId());
        SignatureVerifier verifier = SignatureVerifier.builder()
                .publisherKeys(TrustedKeys.load(key.publicKey())).build();
        assertThat(verifier.checkManifest(read)).isEmpty();
        assertThat(verifier.checkManifest(VersionManifest.newBuilder(read).setStep(4).build())).isPresent();
    }

    @Test
    void anExplicitKeyIdIsUsedAndAnUnreadableKeyFailsTheBuild() throws Exception {
        KeyFiles.Written key = KeyFiles.write(SigningKey.generate(), dir, "trainer", List.of());
        try (WeightPublisher publisher = WeightPublisher.builder().bootstrapServers(KAFKA.bootstrapServers())
                .topicPrefix("signed-id")
                .configure(Map.of(PublisherOptions.SIGNING_KEY_ID.key(), "trainer-a",
                        PublisherOptions.SIGNING_KEY.key(), key.privateKey().toString()))
                .build()) {
            PublishResult result = publisher.publish("m", 1,
                    List.of(TensorSource.ofBytes("w", DType.U8, new long[] {4}, new byte[] {1, 2, 3, 4})));
            assertThat(result.manifest().getKeyId()).isEqualTo("trainer-a");
            assertThat(result.manifest().getSignature().remaining()).isEqualTo(64);
        }
        assertThatThrownBy(() -> WeightPublisher.builder().bootstrapServers(KAFKA.bootstrapServers())
                .configure(Map.of(PublisherOptions.SIGNING_KEY.key(), key.publicKey().toString())).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("publisher.signing.key")
                .hasMessageContaining("expected a PKCS#8 '-----BEGIN PRIVATE KEY-----' block");
    }
}
