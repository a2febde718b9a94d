package io.weightpub.e2e;

import io.weightpub.e2e.testutils.ClusterScripts;
import io.weightpub.e2e.testutils.SecuredKafka;
import io.weightpub.e2e.testutils.StandaloneFlinkCluster;
import io.weightpub.e2e.testutils.Waits;
import io.weightpub.e2e.testutils.WeightpubCli;
import io.weightpub.ops.ControlClient;
import io.weightpub.ops.KafkaConnection;
import io.weightpub.publisher.DType;
import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.PublisherOptions;
import io.weightpub.publisher.TensorSource;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.schemas.signing.SigningKey;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * docs/security.md from zero, on the standalone clusters: keys made with {@code weightpub keys
 * generate}, the secured broker of {@code scripts/cluster/secure} (SASL_SSL, SCRAM users, ACLs of
 * acls.sh), and the job submitted through Flink's CLI with its own principal ({@code job}, as
 * {@code kafka.*} options) and the trusted keys. The trainer publishes signed versions, the
 * operator rolls back with a signed request, and everything unsigned is refused. Statuses and the
 * version index are read as the operator, the principal allowed to read them.
 */
@Tag("e2e")
class SecuredJobEndToEndITCase {

    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final String PREFIX = "weightpub";
    private static final TopicNames TOPICS = TopicNames.of(PREFIX);
    private static final int WORKERS = 2;
    /** The trainer's key may sign only these models (a key's scope, docs/security.md step 1). */
    private static final String TRAINER_MODELS = "secured/*";

    private static Path work;
    private static SecuredKafka kafka;
    private static StandaloneFlinkCluster flink;
    private static WeightpubCli cli;
    private static Path trainerKey;
    private static Path operatorKey;

    @BeforeAll
    static void deploySecured() throws IOException {
        work = ClusterScripts.newWorkDir("secured-job");
        cli = new WeightpubCli(work, TIMEOUT);
        // 1. keys, each public half in its role's trusted folder
        Path keys = work.resolve("keys");
        cli.weightpub("keys", "generate", "--out", keys.resolve("trainer").toString(), "--name", "trainer-a",
                "--models", TRAINER_MODELS);
        cli.weightpub("keys", "generate", "--out", keys.resolve("oncall").toString(), "--name", "oncall");
        trainerKey = keys.resolve("trainer/trainer-a.key.pem");
        operatorKey = keys.resolve("oncall/oncall.key.pem");
        Path publishers = Files.createDirectories(work.resolve("trusted/publishers"));
        Path operators = Files.createDirectories(work.resolve("trusted/operators"));
        Files.copy(keys.resolve("trainer/trainer-a.pub.pem"), publishers.resolve("trainer-a.pub.pem"));
        Files.copy(keys.resolve("oncall/oncall.pub.pem"), operators.resolve("oncall.pub.pem"));

        // 2. and 3. the secured broker, its topics and ACLs
        kafka = SecuredKafka.start(work.resolve("broker"), PREFIX);
        flink = StandaloneFlinkCluster.builder(work.resolve("flink"))
                .taskManagers(1)
                .slotsPerTaskManager(WORKERS)
                .jobManagerMemory("640m")
                .taskManagerMemory("1280m")
                .start();

        // 4. the job with its own principal: every setting of job.properties as a kafka.* option
        List<String> args = new ArrayList<>(List.of("--bootstrap.servers", kafka.bootstrapServers(),
                "--topic.prefix", PREFIX,
                "--workers", String.valueOf(WORKERS),
                "--checkpoint.interval", "2 s",
                "--weightpub.sink.backend", "HOST",
                "--weightpub.sink.slots-per-model", "3",
                "--security.publisher-keys", publishers.toString(),
                "--security.operator-keys", operators.toString(),
                "--weightpub.sink.security.publisher-keys", publishers.toString()));
        // (with the documented kafka-options.sh, one argument per line)
        args.addAll(ClusterScripts.run(Duration.ofSeconds(30), "secure/kafka-options.sh",
                kafka.clientPropertiesFile("job").toString()).lines().toList());
        assertThat(args).containsSubsequence("--kafka.security.protocol", "SASL_SSL")
                .containsSubsequence("--kafka.sasl.jaas.config", kafka.clientProperties("job").getProperty("sasl.jaas.config"));
        String jobId = flink.submit(ClusterScripts.jobJar(), args.toArray(String[]::new));
        flink.awaitAllTasksRunning(jobId, TIMEOUT);
    }

    @AfterAll
    static void stopAll() {
        if (flink != null) {
            flink.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void aVersionTheTrainerSignsWithTheDocumentedCliSettingsBecomesActiveOnEveryWorker() throws Exception {
        String model = "secured/cli";
        Path checkpoint = work.resolve("checkpoint-cli");
        cli.weightpub("generate", checkpoint.toString(), "--target-size", String.valueOf(1 << 20), "--seed", "7");
        // docs/security.md step 5, verbatim: the trainer's client settings become publisher.producer.*
        Path config = work.resolve("trainer-publisher.properties");
        cli.bash("{ echo \"publisher.bootstrap-servers=$BOOT\"; grep -v -e '^#' -e '^bootstrap.servers' $T"
                + " | sed 's/^/publisher.producer./'; echo \"publisher.signing.key=$KEY\"; } > \"$OUT\"",
                Map.of("BOOT", kafka.bootstrapServers(), "T", kafka.clientPropertiesFile("trainer").toString(),
                        "KEY", trainerKey.toString(), "OUT", config.toString()));
        String output = cli.weightpub("publish", checkpoint.toString(), "--model", model, "--step", "100",
                "--config", config.toString(), "--no-progress");
        String keyId = SigningKey.load(trainerKey).keyId();
        assertThat(output).contains("manifest signed with key " + keyId);
        Matcher published = Pattern.compile("publish=([0-9a-f-]{36})").matcher(output);
        assertThat(published.find()).as(output).isTrue();

        awaitCommittedOnEveryWorker(model, published.group(1));
        assertThat(read(TOPICS.versions(), WireCodec.VERSION_INDEX)).filteredOn(e -> e.getModelId().equals(model))
                .singleElement().satisfies(entry -> {
                    assertThat(entry.getPublishId()).isEqualTo(published.group(1));
                    assertThat(entry.getKeyId()).isEqualTo(keyId);
                });
    }

    @Test
    void anUnsignedPublishIsRejectedAndNeverReachesAWorkerWhileTheNextSignedOneApplies() throws Exception {
        String model = "secured/unsigned";
        PublishResult unsigned = publish(model, 1, false);
        WorkerStatus rejected = awaitStatus("publish " + unsigned.publishId() + " REJECTED", s ->
                s.getPublishId().equals(unsigned.publishId()) && s.getState() == VersionState.REJECTED);
        assertThat(rejected.getWorker()).as("the job refuses it").isEqualTo(-1);
        assertThat(rejected.getMessage()).contains("is unsigned; publisher signatures are required");

        PublishResult signed = publish(model, 2, true);
        awaitCommittedOnEveryWorker(model, signed.publishId());
        assertThat(read(TOPICS.status(), WireCodec.STATUS))
                .filteredOn(s -> s.getPublishId().equals(unsigned.publishId()) && s.getWorker() >= 0)
                .as("workers may stage chunks before the manifest arrives, never commit them")
                .noneMatch(s -> s.getState() == VersionState.COMMITTED);
        assertThat(read(TOPICS.versions(), WireCodec.VERSION_INDEX)).filteredOn(e -> e.getModelId().equals(model))
                .extracting(VersionIndexEntry::getPublishId).containsExactly(signed.publishId());
    }

    @Test
    void anUnsignedRollbackIsRefusedAndTheOperatorsSignedRollbackIsAppliedOnEveryWorker() throws Exception {
        String model = "secured/rollback";
        PublishResult v1 = publish(model, 1, true);
        awaitCommittedOnEveryWorker(model, v1.publishId());
        PublishResult v2 = publish(model, 2, true);
        awaitCommittedOnEveryWorker(model, v2.publishId());

        KafkaConnection operator = KafkaConnection.builder()
                .propertiesFile(kafka.clientPropertiesFile("operator")).timeout(Duration.ofSeconds(30)).build();
        ControlRecord unsigned;
        try (ControlClient control = new ControlClient(operator, TOPICS)) {
            unsigned = control.rollback(model, 1, "unsigned");
        }
        WorkerStatus refused = awaitStatus("rollback " + unsigned.getRequestId() + " REJECTED", s ->
                s.getState() == VersionState.REJECTED && s.getMessage().contains(unsigned.getRequestId()));
        assertThat(refused.getMessage()).contains("is unsigned; operator signatures are required");

        // docs/security.md step 6
        String output = cli.weightpub("rollback", "--model", model, "--to", "1", "--reason", "e2e",
                "--key", operatorKey.toString(),
                "--command-config", kafka.clientPropertiesFile("operator").toString(),
                "--wait", "120", "--workers", String.valueOf(WORKERS));
        assertThat(output).contains("rolled back to the content of version 1 as version 3",
                "request signed with key " + SigningKey.load(operatorKey).keyId());
        Set<Integer> workers = read(TOPICS.status(), WireCodec.STATUS).stream()
                .filter(s -> s.getModelId().equals(model) && s.getWorker() >= 0 && s.getVersion() == 3
                        && s.getContentVersion() == 1 && s.getState() == VersionState.COMMITTED)
                .map(WorkerStatus::getWorker).collect(Collectors.toSet());
        assertThat(workers).containsExactlyInAnyOrder(0, 1);
    }

    @Test
    void theJobsPrincipalCannotWriteTheControlOrTrainerTopicsSoACompromisedJobCannotForgeRequests() {
        Properties job = kafka.clientProperties("job");
        job.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(job, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (String topic : List.of(TOPICS.control(), TOPICS.manifests(), TOPICS.chunks())) {
                assertThatThrownBy(() -> producer.send(new ProducerRecord<>(topic, new byte[] {1})).get())
                        .as(topic).hasCauseInstanceOf(TopicAuthorizationException.class);
            }
        }
    }

    @Test
    void theOperatorMayAskWhereTheChunksAreButCannotReadTheWeights() {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(kafka.clientProperties("operator"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = new TopicPartition(TOPICS.chunks(), 0);
            assertThat(consumer.endOffsets(List.of(partition), Duration.ofSeconds(30))).containsKey(partition);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            assertThatThrownBy(() -> {
                for (int i = 0; i < 100; i++) {
                    consumer.poll(Duration.ofMillis(200));
                }
            }).isInstanceOf(TopicAuthorizationException.class);
        }
    }

    // ---------------------------------------------------------------- the trainer

    /** Publishes 64 KiB as the trainer principal, with its key when {@code signed}. */
    private static PublishResult publish(String model, long step, boolean signed) throws IOException {
        Map<String, String> settings = new HashMap<>();
        settings.put(PublisherOptions.TOPIC_PREFIX.key(), PREFIX);
        kafka.clientProperties("trainer").forEach((key, value) -> settings.put(
                key.equals("bootstrap.servers") ? PublisherOptions.BOOTSTRAP_SERVERS.key()
                        : PublisherOptions.PRODUCER_PREFIX + key, value.toString()));
        byte[] bytes = new byte[64 * 1024];
        new Random(step * 31 + model.hashCode()).nextBytes(bytes);
        var builder = WeightPublisher.builder().configure(settings);
        if (signed) {
            builder.signingKeyFile(trainerKey);
        }
        try (WeightPublisher publisher = builder.build()) {
            return publisher.publish(model, step, List.of(TensorSource.ofBytes("w", DType.U8,
                    new long[] {bytes.length}, bytes)));
        }
    }

    // ---------------------------------------------------------------- what the topics say (as the operator)

    private static void awaitCommittedOnEveryWorker(String model, String publishId) {
        Waits.untilTrue("every worker committed " + model + " publish " + publishId, TIMEOUT, () ->
                read(TOPICS.status(), WireCodec.STATUS).stream()
                        .filter(s -> s.getPublishId().equals(publishId) && s.getWorker() >= 0
                                && s.getState() == VersionState.COMMITTED)
                        .map(WorkerStatus::getWorker).distinct().count() == WORKERS);
    }

    private static WorkerStatus awaitStatus(String what, java.util.function.Predicate<WorkerStatus> match) {
        return Waits.until(what, TIMEOUT, () ->
                read(TOPICS.status(), WireCodec.STATUS).stream().filter(match).findFirst());
    }

    /** Every record of {@code topic}, read as the operator without a consumer group. */
    private static <T extends SpecificRecord> List<T> read(String topic, WireCodec<T> codec) throws Exception {
        Properties properties = kafka.clientProperties("operator");
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<T> values = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("could not read " + topic + " to its end " + end + " within 30 s");
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    values.add(codec.decode(record.value()));
                }
            }
        }
        return values;
    }
}
