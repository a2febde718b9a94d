package io.weightpub.e2e;

import io.weightpub.e2e.testutils.ClusterScripts;
import io.weightpub.e2e.testutils.TopicLayout;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks docker-compose.yml without a Docker engine: services, image versions against this
 * build's Flink and Kafka versions, loopback-only ports, the Prometheus reporter, and that topics
 * are created by create-topics.sh from the same topics.properties the scripts and tests use.
 */
class DockerComposeFileTest {

    private static final List<String> FLINK_SERVICES = List.of("jobmanager", "taskmanager", "submit-job");

    private static Map<String, Object> services;
    private static Properties build;

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void parse() throws IOException {
        Path compose = ClusterScripts.repoRoot().resolve("docker-compose.yml");
        try (Reader reader = Files.newBufferedReader(compose, StandardCharsets.UTF_8)) {
            Map<String, Object> root = new Yaml().load(reader);
            services = (Map<String, Object>) root.get("services");
        }
        build = new Properties();
        try (InputStream in = DockerComposeFileTest.class.getResourceAsStream("/build.properties")) {
            build.load(in);
        }
    }

    @Test
    void composeDefinesBrokerTopicsFlinkClusterAndJobSubmission() {
        assertThat(services).containsOnlyKeys("kafka", "topics", "jobmanager", "taskmanager", "submit-job");
        assertThat(service("jobmanager").get("command")).isEqualTo("jobmanager");
        assertThat(service("taskmanager").get("command")).isEqualTo("taskmanager");
    }

    @Test
    void imagesMatchTheFlinkAndKafkaVersionsOfTheBuild() {
        assertThat(build.getProperty("flink.version")).doesNotContain("${");
        String kafkaImage = "apache/kafka:" + build.getProperty("kafka.version");
        String flinkImage = "flink:" + build.getProperty("flink.version") + "-java17";
        assertThat(service("kafka").get("image")).isEqualTo(kafkaImage);
        assertThat(service("topics").get("image")).isEqualTo(kafkaImage);
        for (String name : FLINK_SERVICES) {
            assertThat(service(name).get("image")).as(name).isEqualTo(flinkImage);
        }
    }

    @Test
    void everyPublishedPortIsBoundToLoopback() {
        List<String> ports = new ArrayList<>();
        services.keySet().forEach(name -> ports.addAll(list(service(name).get("ports"))));
        assertThat(ports).isNotEmpty().allSatisfy(port -> assertThat(port).startsWith("127.0.0.1:"));
    }

    @Test
    void flinkProcessesServePrometheusMetricsOnPort9249() {
        for (String name : FLINK_SERVICES) {
            Map<String, String> flinkConf = flinkProperties(name);
            assertThat(flinkConf).as(name)
                    .containsEntry("metrics.reporter.prom.factory.class",
                            "org.apache.flink.metrics.prometheus.PrometheusReporterFactory")
                    .containsEntry("metrics.reporter.prom.port", "9249");
        }
        assertThat(list(service("jobmanager").get("ports"))).contains("127.0.0.1:9249:9249");
        assertThat(list(service("taskmanager").get("ports"))).anyMatch(port -> port.endsWith(":9249"));
    }

    @Test
    void jobManagerAndTaskManagerShareTheCheckpointVolume() {
        String checkpointDir = flinkProperties("jobmanager").get("execution.checkpointing.dir");
        assertThat(checkpointDir).startsWith("file://");
        String mount = "flink-checkpoints:" + checkpointDir.substring("file://".length());
        assertThat(list(service("jobmanager").get("volumes"))).contains(mount);
        assertThat(list(service("taskmanager").get("volumes"))).contains(mount);
    }

    @Test
    void topicsServiceAppliesTopicsPropertiesWithCreateTopicsScript() {
        Map<String, Object> topics = service("topics");
        assertThat(list(topics.get("volumes"))).contains("./scripts/cluster:/opt/weightpub/scripts/cluster:ro");
        assertThat(list(topics.get("entrypoint")))
                .containsExactly("bash", "/opt/weightpub/scripts/cluster/create-topics.sh");
        List<String> command = list(topics.get("command"));
        assertThat(command).containsSubsequence("--bootstrap-server", "kafka:9092")
                .containsSubsequence("--topics-file", "/opt/weightpub/scripts/cluster/topics.properties");
        assertThat(dependsOn("topics")).containsEntry("kafka", "service_healthy");
    }

    @Test
    void brokerAcceptsTheLargestRecordAnyTopicAllows() {
        TopicLayout layout = TopicLayout.load();
        long largestTopicLimit = layout.roles().stream()
                .mapToLong(role -> Long.parseLong(layout.config(role).getOrDefault("max.message.bytes", "1048588")))
                .max()
                .orElseThrow();
        Map<String, Object> env = map(service("kafka").get("environment"));
        assertThat(Long.parseLong(String.valueOf(env.get("KAFKA_MESSAGE_MAX_BYTES")))).isGreaterThanOrEqualTo(largestTopicLimit);
        assertThat(Long.parseLong(String.valueOf(env.get("KAFKA_REPLICA_FETCH_MAX_BYTES")))).isGreaterThanOrEqualTo(largestTopicLimit);
    }

    @Test
    void createTopicsScriptTurnsTopicsPropertiesIntoOneTopicPerRole() {
        TopicLayout layout = TopicLayout.load();
        String dryRun = ClusterScripts.run(Duration.ofSeconds(30), "create-topics.sh",
                "--bootstrap-server", "127.0.0.1:9", "--prefix", "wp", "--dry-run");
        List<String> lines = dryRun.lines().toList();
        assertThat(lines).hasSameSizeAs(layout.roles());
        for (int i = 0; i < lines.size(); i++) {
            String role = layout.roles().get(i);
            List<String> args = Arrays.asList(lines.get(i).split(" "));
            assertThat(args).containsSubsequence("--topic", "wp." + role)
                    .containsSubsequence("--partitions", String.valueOf(layout.partitions(role)))
                    .containsSubsequence("--replication-factor", String.valueOf(layout.replicationFactor()))
                    .contains("--if-not-exists");
            Map<String, String> config = new TreeMap<>();
            for (int a = 0; a < args.size() - 1; a++) {
                if (args.get(a).equals("--config")) {
                    String[] kv = args.get(a + 1).split("=", 2);
                    config.put(kv[0], kv[1]);
                }
            }
            assertThat(config).as(role).isEqualTo(layout.config(role));
        }
        assertThat(layout.config("status")).containsEntry("cleanup.policy", "compact");
        assertThat(layout.config("versions")).containsEntry("cleanup.policy", "compact");
        assertThat(layout.config("chunks")).containsKeys("retention.ms", "retention.bytes", "max.message.bytes");
    }

    @Test
    void submitServiceRunsTheShadedJobJarOfThisBuildAgainstTheComposeBroker() {
        Map<String, Object> submit = service("submit-job");
        String command = String.valueOf(submit.get("command"));
        String jar = "weightpub-job-" + build.getProperty("project.version") + "-flink.jar";
        assertThat(command).startsWith("flink run -d -m jobmanager:8081")
                .contains("-c io.weightpub.job.WeightPublishingJob")
                .contains("/opt/weightpub/job/" + jar)
                .contains("--bootstrap.servers kafka:9092")
                .contains("--topic.prefix ${WEIGHTPUB_TOPIC_PREFIX:-weightpub}");
        assertThat(list(submit.get("volumes"))).contains("./job/target:/opt/weightpub/job:ro");
        assertThat(dependsOn("submit-job")).containsEntry("topics", "service_completed_successfully")
                .containsEntry("jobmanager", "service_healthy");
        // the topic prefix the job gets is the one the topics service creates
        assertThat(list(service("topics").get("command"))).contains("${WEIGHTPUB_TOPIC_PREFIX:-weightpub}");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> service(String name) {
        Object service = services.get(name);
        assertThat(service).as("service " + name).isInstanceOf(Map.class);
        return (Map<String, Object>) service;
    }

    /** FLINK_PROPERTIES of a service ("key: value" lines, as the Flink image reads them). */
    private static Map<String, String> flinkProperties(String name) {
        Object value = map(service(name).get("environment")).get("FLINK_PROPERTIES");
        assertThat(value).as(name + " FLINK_PROPERTIES").isInstanceOf(String.class);
        Map<String, String> properties = new TreeMap<>();
        Matcher line = Pattern.compile("(?m)^\\s*([^:#\\s]+)\\s*:\\s*(.*?)\\s*$").matcher((String) value);
        while (line.find()) {
            properties.put(line.group(1), line.group(2));
        }
        return properties;
    }

    private static Map<String, String> dependsOn(String name) {
        Map<String, String> conditions = new TreeMap<>();
        map(service(name).get("depends_on")).forEach((dependency, spec) ->
                conditions.put(dependency, String.valueOf(map(spec).get("condition"))));
        return conditions;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        assertThat(value).isInstanceOf(Map.class);
        return (Map<String, Object>) value;
    }

    private static List<String> list(Object value) {
        if (value == null) {
            return List.of();
        }
        assertThat(value).isInstanceOf(List.class);
        return ((List<?>) value).stream().map(String::valueOf).toList();
    }
}
