package io.weightpub.e2e;

import io.weightpub.e2e.testutils.ClusterScripts;
import io.weightpub.e2e.testutils.ComposeFiles;
import io.weightpub.e2e.testutils.Waits;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The broker of docker-compose.secured.yml, booted without Docker: its entry point
 * (docker/kafka/secured-entrypoint.sh) runs with the merged compose environment over a secrets
 * folder made by compose-secrets.sh, and with stand-ins for the image's /opt/kafka/bin scripts
 * that run this build's Kafka jars. Only what a machine without Docker must change is changed:
 * the host name {@code kafka} becomes 127.0.0.1 and the fixed ports become free ones. Then the
 * compose file's topics and ACL commands run against it, as its one-shot services do.
 */
@Tag("e2e")
class SecuredComposeBrokerITCase {

    private static Path work;
    private static Path secrets;
    private static Process broker;
    private static int hostPort;
    private static int controllerPort;

    @BeforeAll
    static void bootTheComposeBroker() throws Exception {
        Path libs = ClusterScripts.fetchLibs();
        work = ClusterScripts.newWorkDir("secured-compose");
        String[] ports = ClusterScripts.withCommon(Duration.ofSeconds(30),
                "a=$(free_port); b=$(free_port $a); c=$(free_port $a $b); echo $a $b $c").split(" ");
        int internalPort = Integer.parseInt(ports[0]);
        controllerPort = Integer.parseInt(ports[1]);
        hostPort = Integer.parseInt(ports[2]);
        secrets = work.resolve("secure");
        ClusterScripts.run(Duration.ofMinutes(2), "secure/compose-secrets.sh", "--out", secrets.toString(),
                "--host-port", String.valueOf(hostPort));
        Path bin = fakeKafkaBin(libs);

        ProcessBuilder builder = new ProcessBuilder("bash",
                ClusterScripts.repoRoot().resolve("docker/kafka/secured-entrypoint.sh").toString())
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("broker.out").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(name -> name.startsWith("KAFKA_"));
        ComposeFiles.environment(ComposeFiles.services("docker-compose.yml", "docker-compose.secured.yml").get("kafka"))
                .forEach((name, value) -> env.put(name, value
                        .replace("://:9092", "://127.0.0.1:" + internalPort)
                        .replace("://:9093", "://127.0.0.1:" + controllerPort)
                        .replace("://:29092", "://127.0.0.1:" + hostPort)
                        .replace("kafka:9092", "127.0.0.1:" + internalPort)
                        .replace("kafka:9093", "127.0.0.1:" + controllerPort)
                        .replace("127.0.0.1:29092", "127.0.0.1:" + hostPort)));
        env.put("KAFKA_LOG_DIRS", work.resolve("data").toString());
        env.put("KAFKA_HOME", bin.getParent().toString());
        env.put("WEIGHTPUB_SECURE", secrets.toString());
        env.put("WEIGHTPUB_BROKER_CONFIG", work.resolve("server.properties").toString());
        broker = builder.start();

        Properties admin = client("admin");
        Waits.untilTrue("the compose broker answers the admin user", Duration.ofMinutes(2), () -> {
            if (!broker.isAlive()) {
                throw new AssertionError("the broker exited: " + Files.readString(work.resolve("broker.out")));
            }
            try (Admin client = Admin.create(admin)) {
                return client.describeCluster().nodes().get(10, TimeUnit.SECONDS).size() == 1;
            }
        });
        String bootstrap = "127.0.0.1:" + hostPort;
        String adminFile = secrets.resolve("clients/admin.properties").toString();
        ClusterScripts.run(Duration.ofMinutes(3), "create-topics.sh", "--bootstrap-server", bootstrap,
                "--command-config", adminFile, "--kafka-topics", bin.resolve("kafka-topics.sh").toString());
        ClusterScripts.run(Duration.ofMinutes(3), "secure/acls.sh", "--bootstrap-server", bootstrap,
                "--command-config", adminFile, "--kafka-acls", bin.resolve("kafka-acls.sh").toString());
    }

    @AfterAll
    static void stopTheBroker() throws InterruptedException {
        if (broker != null) {
            broker.destroy(); // the entry point exec'd into the broker's JVM: SIGTERM stops it cleanly
            if (!broker.waitFor(60, TimeUnit.SECONDS)) {
                broker.destroyForcibly().waitFor();
            }
        }
    }

    @Test
    void theUsersOfTheSecretsFolderWereCreatedAtFormatTimeAndTheAclsOfTheOneShotServiceHold() throws Exception {
        try (Admin admin = Admin.create(client("admin"))) {
            assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS))
                    .containsAll(Set.of("weightpub.chunks", "weightpub.manifests", "weightpub.control",
                            "weightpub.status", "weightpub.versions", "weightpub.dlq"));
        }
        try (KafkaProducer<byte[], byte[]> trainer = producer("trainer")) {
            assertThat(trainer.send(new ProducerRecord<>("weightpub.manifests", new byte[] {1})).get().offset()).isZero();
            assertThatThrownBy(() -> trainer.send(new ProducerRecord<>("weightpub.control", new byte[] {1})).get())
                    .hasCauseInstanceOf(TopicAuthorizationException.class);
        }
        try (KafkaProducer<byte[], byte[]> job = producer("job")) { // status is compacted: records need a key
            assertThat(job.send(new ProducerRecord<>("weightpub.status", new byte[] {1}, new byte[] {1})).get().offset()).isZero();
            assertThatThrownBy(() -> job.send(new ProducerRecord<>("weightpub.control", new byte[] {1})).get())
                    .hasCauseInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void theBrokersLogCarriesNoScramKeysOfItsUsers() throws IOException {
        assertThat(Files.readString(work.resolve("broker.out")))
                .contains("formatted " + work.resolve("data") + " with SCRAM-SHA-512 users: admin broker job operator trainer worker")
                .doesNotContain("UserScramCredentialRecord", "storedKey");
    }

    @Test
    void theControllerListenerRefusesAClientThatTrustsTheBrokerButHasNoCertificate() {
        Properties properties = new Properties();
        properties.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + controllerPort);
        properties.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
        client("admin").forEach((key, value) -> {
            if (key.toString().startsWith("ssl.truststore.")) {
                properties.put(key, value);
            }
        });
        properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        assertThat(properties).containsKey(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG);
        try (Admin admin = Admin.create(properties)) {
            assertThatThrownBy(() -> admin.describeCluster().nodes().get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(SslAuthenticationException.class);
        }
    }

    /** The client settings compose-secrets.sh wrote for {@code user} on this host. */
    private static Properties client(String user) {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(secrets.resolve("clients/" + user + ".properties"))) {
            properties.load(reader);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        return properties;
    }

    private static KafkaProducer<byte[], byte[]> producer(String user) {
        Properties properties = client(user);
        properties.remove(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
        properties.remove(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG);
        properties.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** /opt/kafka/bin of the apache/kafka image, as far as the compose file uses it, on this build's jars. */
    private static Path fakeKafkaBin(Path libs) throws IOException {
        Path bin = Files.createDirectories(work.resolve("kafka-home/bin"));
        String java = Optional.ofNullable(System.getenv("JAVA_HOME")).map(home -> home + "/bin/java").orElse("java");
        Map<String, String> tools = Map.of(
                "kafka-storage.sh", "kafka.tools.StorageTool",
                "kafka-server-start.sh", "kafka.Kafka",
                "kafka-topics.sh", "org.apache.kafka.tools.TopicCommand",
                "kafka-acls.sh", "org.apache.kafka.tools.AclCommand");
        for (Map.Entry<String, String> tool : tools.entrySet()) {
            String heap = tool.getValue().equals("kafka.Kafka") ? "-Xmx512m" : "-Xmx256m";
            Path script = Files.writeString(bin.resolve(tool.getKey()), "#!/usr/bin/env bash\nexec " + java + " " + heap
                    + " -Dweightpub.work=" + work + " -Dlog4j2.level=warn -cp '" + libs.resolve("kafka") + "/*' "
                    + tool.getValue() + " \"$@\"\n");
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return bin;
    }
}
