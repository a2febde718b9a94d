package io.weightpub.e2e;

import io.weightpub.e2e.testutils.ClusterScripts;
import io.weightpub.e2e.testutils.ComposeFiles;
import io.weightpub.e2e.testutils.WeightpubCli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks docker-compose.secured.yml without a Docker engine, merged over docker-compose.yml as
 * {@code docker compose -f docker-compose.yml -f docker-compose.secured.yml} merges them: the
 * broker's listeners and authorizer, the secrets mounted read-only from the folder that
 * compose-secrets.sh makes, the one-shot ACL service, loopback-only ports, and that the broker's
 * entry point and the job's submit script turn those files into the right settings.
 */
class DockerComposeSecuredFileTest {

    private static final String SECURE = "${WEIGHTPUB_SECURE_DIR:-./secure}";
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{WEIGHTPUB_SECURE_DIR:-\\./secure}");

    @TempDir
    static Path tmp;

    private static Map<String, Map<String, Object>> services;
    private static Path secrets;
    private static WeightpubCli shell;

    @BeforeAll
    static void mergeAndMakeSecrets() throws IOException {
        services = ComposeFiles.services("docker-compose.yml", "docker-compose.secured.yml");
        shell = new WeightpubCli(tmp, Duration.ofMinutes(2));
        secrets = tmp.resolve("secure");
        ClusterScripts.run(Duration.ofMinutes(2), "secure/compose-secrets.sh", "--out", secrets.toString());
    }

    @Test
    void theBrokerTakesOnlyScramOverTlsFromClientsAndOnlyItsCertificateOnTheControllerListener() {
        Map<String, String> env = environment("kafka");
        Map<String, String> protocols = new TreeMap<>();
        for (String entry : env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP").split(",")) {
            String[] nameAndProtocol = entry.split(":");
            protocols.put(nameAndProtocol[0], nameAndProtocol[1]);
        }
        List<String> listeners = Arrays.stream(env.get("KAFKA_LISTENERS").split(","))
                .map(listener -> listener.substring(0, listener.indexOf(':'))).toList();
        assertThat(protocols).containsOnlyKeys(listeners);
        protocols.forEach((listener, protocol) -> assertThat(protocol).as(listener)
                .isEqualTo(listener.equals(env.get("KAFKA_CONTROLLER_LISTENER_NAMES")) ? "SSL" : "SASL_SSL"));
        assertThat(env).containsEntry("KAFKA_SASL_ENABLED_MECHANISMS", "SCRAM-SHA-512")
                .containsEntry("KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL", "SCRAM-SHA-512")
                .containsEntry("KAFKA_LISTENER_NAME_CONTROLLER_SSL_CLIENT_AUTH", "required")
                .containsEntry("KAFKA_AUTHORIZER_CLASS_NAME", "org.apache.kafka.metadata.authorizer.StandardAuthorizer")
                .containsEntry("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND", "false");
        assertThat(env.get("KAFKA_SUPER_USERS").split(";")).containsExactlyInAnyOrder(
                "User:broker", "User:admin", "User:CN=broker");
        assertThat(String.valueOf(map(service("kafka").get("healthcheck")).get("test")))
                .contains("--command-config /etc/weightpub/secure/clients/admin.properties");
    }

    @Test
    void theBrokersEntryPointWritesTheTlsAndScramSettingsAndFormatsWithEveryUser() {
        Map<String, String> env = new LinkedHashMap<>(environment("kafka"));
        env.put("WEIGHTPUB_SECURE", secrets.toString());
        String printed = shell.bash("bash docker/kafka/secured-entrypoint.sh --print", env);

        assertThat(printed.lines()).contains(
                "listeners=INTERNAL://:9092,CONTROLLER://:9093,HOST://:29092",
                "listener.security.protocol.map=INTERNAL:SASL_SSL,CONTROLLER:SSL,HOST:SASL_SSL",
                "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "allow.everyone.if.no.acl.found=false",
                "listener.name.controller.ssl.client.auth=required",
                "message.max.bytes=16781312",
                "ssl.keystore.location=" + secrets.resolve("certs/broker.keystore.p12"),
                "ssl.truststore.location=" + secrets.resolve("certs/truststore.p12"),
                "ssl.keystore.password=***");
        for (String listener : List.of("internal", "host")) {
            assertThat(printed).contains("listener.name." + listener + ".scram-sha-512.sasl.jaas.config="
                    + "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"broker\" password=\"***\";");
        }
        String format = printed.lines().filter(line -> line.contains("kafka-storage.sh format")).findFirst().orElseThrow();
        for (String user : List.of("broker", "admin", "trainer", "operator", "job", "worker")) {
            assertThat(format).contains("--add-scram SCRAM-SHA-512=[name=" + user + ",password=***]");
        }
        assertThat(printed).as("no secret is printed").doesNotContain(firstLine(secrets.resolve("certs/store.password")))
                .doesNotContain(firstLine(secrets.resolve("users/broker.password")));
    }

    @Test
    void secretsAreMountedReadOnlyFromTheComposeSecretsFolderAndTheBrokerKeyOnlyIntoTheBroker() {
        services.forEach((name, service) -> {
            for (String volume : list(service.get("volumes"))) {
                String source = volume.substring(0, volume.indexOf(':', volume.startsWith("${") ? volume.indexOf('}') : 0));
                if (source.startsWith(SECURE)) {
                    assertThat(volume).as(name).endsWith(":ro");
                    Path made = secrets.resolve(VARIABLE.matcher(source).replaceFirst(".").substring(2));
                    assertThat(made).as("%s mounts %s, which compose-secrets.sh makes", name, source).exists();
                    if (!source.endsWith("/truststore.p12")) {
                        assertThat(service.get("user")).as("%s reads the 0600 file %s", name, source).isEqualTo("0:0");
                    }
                    if (!name.equals("kafka")) {
                        assertThat(source).as(name).doesNotContain("broker.keystore", "/users", "store.password");
                    }
                } else if (source.startsWith("./")) {
                    assertThat(ClusterScripts.repoRoot().resolve(source.substring(2))).as(name + " mounts " + source)
                            .exists();
                }
            }
        });
        assertThat(list(service("kafka").get("volumes")))
                .contains(SECURE + "/users:/etc/weightpub/secure/users:ro", "./docker/kafka:/opt/weightpub/docker/kafka:ro");
        for (String name : List.of("jobmanager", "taskmanager")) {
            assertThat(list(service(name).get("volumes"))).as(name)
                    .contains(SECURE + "/certs/truststore.p12:/etc/weightpub/secure/certs/truststore.p12:ro");
        }
    }

    @Test
    void aOneShotServiceGrantsTheAclsOfAclsShAfterTheTopicsAndBeforeTheJobIsSubmitted() {
        Map<String, Object> acls = service("acls");
        assertThat(list(acls.get("entrypoint"))).containsExactly("bash", "/opt/weightpub/scripts/cluster/secure/acls.sh");
        assertThat(list(acls.get("volumes"))).contains("./scripts/cluster:/opt/weightpub/scripts/cluster:ro");
        assertThat(list(acls.get("command")))
                .containsSubsequence("--bootstrap-server", "kafka:9092")
                .containsSubsequence("--command-config", "/etc/weightpub/secure/clients/admin.properties")
                .containsSubsequence("--prefix", "${WEIGHTPUB_TOPIC_PREFIX:-weightpub}")
                .containsSubsequence("--kafka-acls", "/opt/kafka/bin/kafka-acls.sh");
        assertThat(acls.get("image")).isEqualTo(service("topics").get("image"));
        assertThat(list(service("topics").get("command")))
                .containsSubsequence("--command-config", "/etc/weightpub/secure/clients/admin.properties");
        assertThat(dependsOn("acls")).containsEntry("topics", "service_completed_successfully");
        assertThat(dependsOn("submit-job")).containsEntry("acls", "service_completed_successfully");
        // the command acls.sh runs in the container: one kafka-acls call per grant, with the admin's settings
        String dryRun = ClusterScripts.run(Duration.ofSeconds(30), "secure/acls.sh", "--bootstrap-server", "kafka:9092",
                "--kafka-acls", "/opt/kafka/bin/kafka-acls.sh", "--dry-run");
        assertThat(dryRun.lines()).isNotEmpty().allSatisfy(line -> assertThat(line).startsWith("--bootstrap-server kafka:9092 --add"));
    }

    @Test
    void theJobsPrincipalMayReadTheTrainerAndControlTopicsButWriteOnlyStatusVersionsAndDeadLetters() {
        Map<String, List<String>> grants = new TreeMap<>();
        String dryRun = ClusterScripts.run(Duration.ofSeconds(30), "secure/acls.sh", "--bootstrap-server", "h:1",
                "--prefix", "wp", "--dry-run");
        for (String line : dryRun.lines().toList()) {
            List<String> args = Arrays.asList(line.split(" "));
            String principal = args.get(args.indexOf("--allow-principal") + 1);
            List<String> operations = new ArrayList<>();
            List<String> resources = new ArrayList<>();
            for (int i = 0; i < args.size() - 1; i++) {
                switch (args.get(i)) {
                    case "--operation" -> operations.add(args.get(i + 1));
                    case "--topic", "--group", "--transactional-id" -> resources.add(args.get(i).substring(2) + ":" + args.get(i + 1));
                    default -> { }
                }
            }
            for (String operation : operations) {
                resources.forEach(resource -> grants.computeIfAbsent(principal + " " + operation, k -> new ArrayList<>()).add(resource));
            }
        }
        assertThat(grants.get("User:job Write")).containsExactlyInAnyOrder("topic:wp.status", "topic:wp.versions", "topic:wp.dlq");
        assertThat(grants.get("User:job Read")).containsExactlyInAnyOrder("topic:wp.chunks", "topic:wp.manifests",
                "topic:wp.control", "group:weightpub-job");
        assertThat(grants.get("User:trainer Write")).containsExactlyInAnyOrder("topic:wp.chunks", "topic:wp.manifests",
                "transactional-id:weightpub-publisher-");
        assertThat(grants).doesNotContainKey("User:trainer Read");
        assertThat(grants.get("User:operator Write")).containsExactly("topic:wp.control");
        // the rollback command checks the target's chunks are retained (offsets): Describe, never Read
        assertThat(grants.get("User:operator Describe")).contains("topic:wp.chunks");
        assertThat(grants.get("User:operator Read")).containsExactlyInAnyOrder("topic:wp.versions", "topic:wp.status");
        assertThat(grants.get("User:worker Write")).containsExactly("topic:wp.status");
    }

    @Test
    void theJobIsSubmittedWithTheJobPrincipalsSettingsAsKafkaOptionsAndTheTrustedKeys() throws IOException {
        Map<String, Object> submit = service("submit-job");
        assertThat(list(submit.get("entrypoint"))).containsExactly("bash", "/opt/weightpub/docker/flink/submit-secured.sh");
        assertThat(list(submit.get("volumes"))).contains(
                SECURE + "/clients/docker/job.properties:/etc/weightpub/secure/clients/job.properties:ro",
                SECURE + "/trusted:/etc/weightpub/trusted:ro", "./job/target:/opt/weightpub/job:ro",
                "./scripts/cluster:/opt/weightpub/scripts/cluster:ro");
        List<String> command = Arrays.asList(String.valueOf(submit.get("command")).split("\\s+"));
        assertThat(command.get(0)).isEqualTo("/etc/weightpub/secure/clients/job.properties");
        assertThat(command.get(1)).startsWith("/opt/weightpub/job/weightpub-job-").endsWith("-flink.jar");

        // Run it with a stand-in `flink` that prints its arguments, on the folder compose-secrets.sh made.
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path flink = Files.writeString(bin.resolve("flink"), "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\"\n");
        Files.setPosixFilePermissions(flink, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(secrets.resolve("trusted/publishers/trainer.pub.pem"), "-");
        Files.writeString(secrets.resolve("trusted/operators/oncall.pub.pem"), "-");
        Path jobProperties = secrets.resolve("clients/docker/job.properties");
        String args = shell.bash("bash docker/flink/submit-secured.sh \"$PROPS\" /opt/weightpub/job/j.jar --topic.prefix wp",
                Map.of("PATH", bin + ":" + System.getenv("PATH"), "PROPS", jobProperties.toString(),
                        "WEIGHTPUB_TRUSTED", secrets.resolve("trusted").toString(),
                        "WEIGHTPUB_SCRIPTS", ClusterScripts.scriptsDir().toString()));
        Properties job = new Properties();
        try (Reader reader = Files.newBufferedReader(jobProperties)) {
            job.load(reader);
        }
        List<String> lines = args.lines().toList();
        assertThat(lines).startsWith("run", "-d", "-m", "jobmanager:8081", "-c", "io.weightpub.job.WeightPublishingJob",
                        "/opt/weightpub/job/j.jar")
                .containsSubsequence("--bootstrap.servers", "kafka:9092")
                .containsSubsequence("--kafka.security.protocol", "SASL_SSL")
                .containsSubsequence("--kafka.sasl.mechanism", "SCRAM-SHA-512")
                .containsSubsequence("--kafka.sasl.jaas.config", job.getProperty("sasl.jaas.config"))
                .containsSubsequence("--kafka.ssl.truststore.location", "/etc/weightpub/secure/certs/truststore.p12")
                .containsSubsequence("--kafka.ssl.truststore.password", job.getProperty("ssl.truststore.password"))
                .containsSubsequence("--security.publisher-keys", secrets.resolve("trusted/publishers").toString())
                .containsSubsequence("--security.operator-keys", secrets.resolve("trusted/operators").toString())
                .containsSubsequence("--weightpub.sink.security.publisher-keys", secrets.resolve("trusted/publishers").toString())
                .endsWith("--topic.prefix", "wp");
        assertThat(job.getProperty("sasl.jaas.config")).contains("username=\"job\"");
    }

    @Test
    void everyPublishedPortStaysOnLoopback() {
        List<String> ports = new ArrayList<>();
        services.values().forEach(service -> ports.addAll(list(service.get("ports"))));
        assertThat(ports).isNotEmpty().allSatisfy(port -> assertThat(port).startsWith("127.0.0.1:"));
    }

    // ---------------------------------------------------------------- helpers

    private static Map<String, Object> service(String name) {
        assertThat(services).containsKey(name);
        return services.get(name);
    }

    private static Map<String, String> environment(String name) {
        return ComposeFiles.environment(service(name));
    }

    private static Map<String, String> dependsOn(String name) {
        Map<String, String> conditions = new TreeMap<>();
        map(service(name).get("depends_on")).forEach((dependency, spec) ->
                conditions.put(dependency, String.valueOf(map(spec).get("condition"))));
        return conditions;
    }

    private static String firstLine(Path file) {
        try {
            return Files.readAllLines(file).get(0);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Map<String, Object> map(Object value) {
        return ComposeFiles.map(value);
    }

    private static List<String> list(Object value) {
        return ComposeFiles.list(value);
    }
}
