package io.weightpub.e2e;

import io.weightpub.e2e.smoke.KafkaSmokeJob;
import io.weightpub.e2e.testutils.ClusterScripts;
import io.weightpub.e2e.testutils.StandaloneFlinkCluster;
import io.weightpub.e2e.testutils.StandaloneKafka;
import io.weightpub.e2e.testutils.TopicLayout;
import io.weightpub.e2e.testutils.Waits;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Proves the run-it-where-users-run-it harness: a broker and a Flink session cluster started by
 * the scripts, a job submitted through Flink's CLI, a TaskManager killed with SIGKILL and
 * replaced, everything stopped again.
 */
@Tag("e2e")
class StandaloneClusterSmokeITCase {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private static StandaloneKafka kafka;

    @BeforeAll
    static void startKafka() {
        kafka = StandaloneKafka.start(ClusterScripts.newWorkDir("smoke-kafka"));
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void createTopicsScriptCreatesEveryTopicWithTheSettingsOfTopicsProperties() throws Exception {
        TopicLayout layout = TopicLayout.load();
        kafka.createWeightpubTopics("e2e");
        kafka.createWeightpubTopics("e2e"); // a second run leaves the existing topics as they are

        try (Admin admin = kafka.admin()) {
            for (String role : layout.roles()) {
                String topic = TopicLayout.topic("e2e", role);
                TopicDescription description = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
                assertThat(description.partitions()).as(topic + " partitions").hasSize(layout.partitions(role));

                ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
                Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
                Map<String, String> actual = config.entries().stream()
                        .filter(entry -> entry.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG)
                        .collect(Collectors.toMap(ConfigEntry::name, ConfigEntry::value));
                assertThat(actual).as(topic + " settings").isEqualTo(layout.config(role));
            }
        }
    }

    @Test
    void submittedJobKeepsRunningAfterItsOnlyTaskManagerIsKilledAndReplaced() throws Exception {
        kafka.createTopic("smoke.in", 2, Map.of());
        kafka.createTopic("smoke.out", 1, Map.of());
        Path jar = ClusterScripts.smokeJobJar();

        StandaloneFlinkCluster flink = StandaloneFlinkCluster.builder(ClusterScripts.newWorkDir("smoke-flink"))
                .taskManagers(1)
                .slotsPerTaskManager(2)
                .jobManagerMemory("640m")
                .taskManagerMemory("1024m")
                // notice a dead TaskManager within seconds, not the default 50 s, but not so soon that a
                // busy CI machine's GC or scheduling pauses look like a loss
                .setting("heartbeat.interval", "1000")
                .setting("heartbeat.timeout", "15000")
                .start();
        int restPort = flink.restPort();
        List<Long> pids;
        try {
            assertThat(flink.registeredTaskManagers()).containsExactly("tm-1");
            produce("smoke.in", 0, 50);
            String jobId = flink.submit(jar, "--bootstrap.servers", kafka.bootstrapServers(),
                    "--input", "smoke.in", "--output", "smoke.out", "--checkpoint.interval.ms", "500");

            flink.awaitAllTasksRunning(jobId, TIMEOUT);
            awaitOutput("smoke.out", 0, 50);
            flink.awaitCompletedCheckpoints(jobId, 1, TIMEOUT);

            flink.killTaskManager("tm-1");
            Waits.untilTrue("tm-1 to be dropped by the JobManager", TIMEOUT,
                    () -> !flink.registeredTaskManagers().contains("tm-1"));
            assertThat(flink.jobStatus(jobId)).isIn("RESTARTING", "RUNNING", "CREATED");
            String replacement = flink.startTaskManager();
            assertThat(replacement).isEqualTo("tm-2");

            flink.awaitAllTasksRunning(jobId, TIMEOUT);
            assertThat(flink.failureCount(jobId)).as("failures recorded").isGreaterThanOrEqualTo(1);
            assertThat(flink.checkpointCounts(jobId).restored()).as("restores from a checkpoint").isGreaterThanOrEqualTo(1);
            produce("smoke.in", 50, 100);
            awaitOutput("smoke.out", 0, 100);

            pids = List.of(flink.taskManagerPid("tm-2"), flink.jobManagerPid());
        } finally {
            flink.close();
        }

        for (long pid : pids) {
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).as("pid " + pid).isNotEqualTo(Optional.of(true));
        }
        assertThat(accepts(restPort)).as("REST port " + restPort + " after stop").isFalse();
    }

    private static void produce(String topic, int from, int to) throws Exception {
        Properties properties = kafka.clientProperties();
        properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(properties)) {
            for (int i = from; i < to; i++) {
                producer.send(new ProducerRecord<>(topic, String.valueOf(i))).get();
            }
        }
    }

    /** Waits until the output topic holds every tagged value in [from, to) (duplicates allowed). */
    private static void awaitOutput(String topic, int from, int to) {
        Set<String> expected = IntStream.range(from, to).mapToObj(i -> KafkaSmokeJob.PREFIX + i).collect(Collectors.toSet());
        Properties properties = kafka.clientProperties();
        properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(properties)) {
            List<TopicPartition> partitions = List.of(new TopicPartition(topic, 0));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Set<String> seen = new HashSet<>();
            Waits.untilTrue(expected.size() + " records in " + topic, TIMEOUT, () -> {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    seen.add(record.value());
                }
                return seen.containsAll(expected);
            });
        }
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
