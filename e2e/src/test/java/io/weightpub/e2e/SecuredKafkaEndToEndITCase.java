package io.weightpub.e2e;

import io.weightpub.e2e.testutils.ClusterScripts;
import io.weightpub.e2e.testutils.SecuredKafka;
import io.weightpub.ops.ControlClient;
import io.weightpub.ops.KafkaConnection;
import io.weightpub.publisher.DType;
import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.PublisherOptions;
import io.weightpub.publisher.TensorSource;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.signing.RecordSigner;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.schemas.signing.SigningKey;
import io.weightpub.schemas.signing.TrustedKeys;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The secured profile of docs/security.md on a standalone broker: strangers cannot connect, and
 * each principal can do its job and nothing else.
 */
@Tag("e2e")
class SecuredKafkaEndToEndITCase {

    private static final String PREFIX = "weightpub";
    private static final TopicNames TOPICS = TopicNames.of(PREFIX);

    private static SecuredKafka kafka;

    @BeforeAll
    static void startSecuredKafka() {
        kafka = SecuredKafka.start(ClusterScripts.newWorkDir("secured-kafka"), PREFIX);
    }

    @AfterAll
    static void stopSecuredKafka() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void aClientWithoutCredentialsOrWithAWrongPasswordCannotConnect() {
        Properties anonymous = new Properties();
        anonymous.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        anonymous.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "8000");
        anonymous.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "4000");
        try (Admin admin = Admin.create(anonymous)) {
            assertThatThrownBy(() -> admin.listTopics().names().get(15, TimeUnit.SECONDS))
                    .as("plaintext to a SASL_SSL listener never gets an answer").isInstanceOf(ExecutionException.class);
        }

        Properties wrongPassword = kafka.clientProperties("trainer");
        wrongPassword.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required"
                + " username=\"trainer\" password=\"guess\";");
        wrongPassword.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        wrongPassword.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (Admin admin = Admin.create(wrongPassword)) {
            assertThatThrownBy(() -> admin.listTopics().names().get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(SaslAuthenticationException.class);
        }
    }

    @Test
    void theTrainerPublishesASignedVersionButCannotWriteControlNorReadStatus() throws Exception {
        SigningKey trainerKey = SigningKey.generate();
        Map<String, String> settings = new HashMap<>();
        settings.put(PublisherOptions.TOPIC_PREFIX.key(), PREFIX);
        kafka.clientProperties("trainer").forEach((key, value) -> settings.put(
                key.equals("bootstrap.servers") ? PublisherOptions.BOOTSTRAP_SERVERS.key()
                        : PublisherOptions.PRODUCER_PREFIX + key, value.toString()));
        PublishResult result;
        try (WeightPublisher publisher = WeightPublisher.builder().configure(settings).signingKey(trainerKey)
                .transactionalId("weightpub-publisher-e2e").build()) {
            result = publisher.publish("meta/tiny", 1,
                    List.of(TensorSource.ofBytes("w", DType.U8, new long[] {4}, new byte[] {1, 2, 3, 4})));
        }

        // The job's principal reads the manifest back, and its signature verifies.
        List<ConsumerRecord<byte[], byte[]>> manifests = readAll("job", TOPICS.manifests());
        assertThat(manifests).hasSize(1);
        VersionManifest manifest = WireCodec.MANIFEST.decode(manifests.get(0).value());
        assertThat(manifest.getPublishId()).isEqualTo(result.publishId());
        SignatureVerifier verifier = SignatureVerifier.builder()
                .publisherKeys(TrustedKeys.of(List.of(trainerKey.trusted(List.of())))).build();
        assertThat(verifier.checkManifest(manifest)).isEmpty();

        try (KafkaProducer<byte[], byte[]> trainer = producer("trainer")) {
            assertThatThrownBy(() -> trainer.send(new ProducerRecord<>(TOPICS.control(), new byte[] {1})).get())
                    .hasCauseInstanceOf(TopicAuthorizationException.class);
        }
        assertThatThrownBy(() -> readAll("trainer", TOPICS.status())).isInstanceOf(TopicAuthorizationException.class);
    }

    @Test
    void theOperatorSendsASignedRollbackButCannotPublish() throws Exception {
        SigningKey operatorKey = SigningKey.generate();
        KafkaConnection operator = KafkaConnection.builder()
                .propertiesFile(kafka.clientPropertiesFile("operator")).timeout(Duration.ofSeconds(30)).build();
        ControlRecord sent;
        try (ControlClient control = new ControlClient(operator, TOPICS, new RecordSigner(operatorKey))) {
            sent = control.rollback("meta/tiny", 1, "e2e");
        }
        List<ConsumerRecord<byte[], byte[]>> controls = readAll("job", TOPICS.control());
        assertThat(controls).hasSize(1);
        ControlRecord read = WireCodec.CONTROL.decode(controls.get(0).value());
        assertThat(read.getRequestId()).isEqualTo(sent.getRequestId());
        assertThat(SignatureVerifier.builder().operatorKeys(TrustedKeys.of(List.of(operatorKey.trusted(List.of()))))
                .build().checkControl(read)).isEmpty();

        try (KafkaProducer<byte[], byte[]> producer = producer("operator")) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>(TOPICS.chunks(), new byte[] {1})).get())
                    .hasCauseInstanceOf(TopicAuthorizationException.class);
        }
    }

    private static KafkaProducer<byte[], byte[]> producer(String user) {
        Properties properties = kafka.clientProperties(user);
        properties.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Every record of partition 0 of {@code topic}, read as {@code user} without a consumer group. */
    private static List<ConsumerRecord<byte[], byte[]>> readAll(String user, String topic) {
        Properties properties = kafka.clientProperties(user);
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition), Duration.ofSeconds(30)).get(partition);
            Instant deadline = Instant.now().plusSeconds(60);
            while (consumer.position(partition, Duration.ofSeconds(30)) < end && Instant.now().isBefore(deadline)) {
                consumer.poll(Duration.ofMillis(500)).forEach(records::add);
            }
        }
        return records;
    }
}
