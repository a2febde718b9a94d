package io.weightpub.ops;

import io.weightpub.ops.TopicCheck.Finding;
import io.weightpub.ops.TopicCheck.Problem;
import io.weightpub.ops.testutils.OpsTopics;
import io.weightpub.schemas.TopicNames;
import io.weightpub.testutils.KafkaClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

class TopicsITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @Test
    void createMakesEveryTopicWithExactlyTheSettingsOfTopicsProperties() throws Exception {
        try (OpsTopics kafka = OpsTopics.withoutTopics(KAFKA)) {
            TopicSettings settings = TopicSettings.bundled();

            assertThat(TopicAdmin.create(kafka.connection(), kafka.topics(), settings))
                    .extracting(TopicAdmin.TopicCreation::topic, TopicAdmin.TopicCreation::created)
                    .containsExactlyElementsOf(settings.roles().stream()
                            .map(role -> tuple(kafka.topics().prefix() + "." + role, true)).toList());

            try (Admin admin = Admin.create(KAFKA.kafka().adminProperties())) {
                for (TopicSpec spec : settings.specs()) {
                    String topic = spec.topic(kafka.topics().prefix());
                    TopicDescription description = admin.describeTopics(List.of(topic))
                            .topicNameValues().get(topic).get();
                    assertThat(description.partitions()).as(topic).hasSize(spec.partitions());
                    assertThat(description.partitions().get(0).replicas()).as(topic).hasSize(spec.replicationFactor());
                    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
                    Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
                    Map<String, String> explicit = new HashMap<>();
                    config.entries().stream()
                            .filter(e -> e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG)
                            .forEach(e -> explicit.put(e.name(), e.value()));
                    assertThat(explicit).as(topic).isEqualTo(spec.configs());
                }
            }
        }
    }

    @Test
    void createLeavesExistingTopicsAsTheyAre() {
        try (OpsTopics kafka = OpsTopics.withoutTopics(KAFKA)) {
            KAFKA.createTopic(kafka.topics().chunks(), 2, Map.of());

            assertThat(TopicAdmin.create(kafka.connection(), kafka.topics(), TopicSettings.bundled()))
                    .filteredOn(creation -> !creation.created())
                    .extracting(TopicAdmin.TopicCreation::topic)
                    .containsExactly(kafka.topics().chunks());
            assertThat(check(kafka.topics(), TopicCheck.builder()).findings())
                    .extracting(Finding::problem).contains(Problem.TOO_FEW_PARTITIONS);
        }
    }

    @Test
    void checkFindsNothingWrongWithCreatedTopics() {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            TopicCheck.Report report = check(kafka.topics(), TopicCheck.builder());

            assertThat(report.findings()).isEmpty();
            assertThat(report.ok()).isTrue();
            assertThat(report.topics()).extracting(TopicCheck.TopicState::topic).containsExactlyElementsOf(kafka.topics().all());
            assertThat(report.topics().get(0).configs()).containsEntry("cleanup.policy", "delete")
                    .containsEntry("max.message.bytes", "2097152");
        }
    }

    @Test
    void checkReportsEachKindOfMisconfiguration() {
        try (OpsTopics kafka = OpsTopics.withoutTopics(KAFKA)) {
            TopicNames t = kafka.topics();
            TopicSettings settings = TopicSettings.bundled();
            KAFKA.createTopic(t.chunks(), 2, Map.of("cleanup.policy", "compact", "max.message.bytes", "1000000"));
            KAFKA.createTopic(t.manifests(), 1, Map.of("retention.ms", "3600000", "max.message.bytes", "1048576"));
            // control: missing
            KAFKA.createTopic(t.status(), 1, Map.of("cleanup.policy", "delete"));
            KAFKA.createTopic(t.versions(), 1, settings.spec("versions").configs());
            KAFKA.createTopic(t.deadLetters(), 1, settings.spec("dlq").configs());

            TopicCheck.Report report = check(t, TopicCheck.builder());

            assertThat(report.ok()).isFalse();
            assertThat(report.findings()).extracting(Finding::topic, Finding::problem).containsExactlyInAnyOrder(
                    tuple(t.chunks(), Problem.TOO_FEW_PARTITIONS),
                    tuple(t.chunks(), Problem.COMPACTED_BUT_NEEDS_RETENTION),
                    tuple(t.chunks(), Problem.MAX_MESSAGE_BYTES_TOO_SMALL),
                    tuple(t.manifests(), Problem.RETENTION_TOO_SHORT),
                    tuple(t.manifests(), Problem.MAX_MESSAGE_BYTES_TOO_SMALL),
                    tuple(t.control(), Problem.MISSING_TOPIC),
                    tuple(t.status(), Problem.NOT_COMPACTED));
            assertThat(report.findings(t.chunks())).extracting(Finding::message).contains(
                    "2 partitions, expected at least 16 (topics.properties (bundled))",
                    "max.message.bytes=1000000 is too small for chunks of 1044480 bytes (1020.00 KiB): a chunk record"
                            + " takes up to 1048576 bytes; raise it to at least 1048576");
            assertThat(report.findings(t.manifests())).extracting(Finding::message).contains(
                    "retention.ms=3600000 (PT1H) is shorter than the 604800000 (PT168H) rollbacks and recovering"
                            + " workers need");
            assertThat(report.findings(t.status())).singleElement().extracting(Finding::message).asString()
                    .startsWith("cleanup.policy=delete, expected compact");
        }
    }

    @Test
    void checkComparesRetentionAndChunkSizeWithWhatIsAskedFor() {
        try (OpsTopics kafka = OpsTopics.withoutTopics(KAFKA)) {
            TopicNames t = kafka.topics();
            TopicSettings settings = TopicSettings.bundled();
            Map<String, String> chunks = new HashMap<>(settings.spec("chunks").configs());
            chunks.put("retention.bytes", String.valueOf(64L << 20));
            chunks.put("retention.ms", String.valueOf(Duration.ofDays(1).toMillis()));
            KAFKA.createTopic(t.chunks(), settings.spec("chunks").partitions(), chunks);
            TopicAdmin.create(kafka.connection(), t, settings);

            assertThat(check(t, TopicCheck.builder()).findings()).extracting(Finding::topic, Finding::problem)
                    .containsExactlyInAnyOrder(
                            tuple(t.chunks(), Problem.RETENTION_TOO_SHORT),
                            tuple(t.chunks(), Problem.RETENTION_BYTES_TOO_SMALL));
            assertThat(check(t, TopicCheck.builder().minRetention(Duration.ofHours(12)).minRetentionBytes(64L << 20))
                    .findings()).isEmpty();
            assertThat(check(t, TopicCheck.builder().minRetention(Duration.ofHours(12)).minRetentionBytes(64L << 20)
                    .chunkSizeBytes(4 << 20)).findings())
                    .extracting(Finding::topic, Finding::problem)
                    .containsExactly(tuple(t.chunks(), Problem.MAX_MESSAGE_BYTES_TOO_SMALL));
        }
    }

    @Test
    void checkWantsAtLeastThePartitionsAndReplicasAskedFor() {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            int morePartitions = TopicSettings.bundled().spec("chunks").partitions() + 6;
            TopicSettings more = TopicSettings.bundled().withPartitions("chunks", morePartitions)
                    .withReplicationFactor((short) 2);

            List<Finding> findings = check(kafka.topics(), TopicCheck.builder().settings(more)).findings();

            assertThat(findings).filteredOn(f -> f.problem() == Problem.TOO_FEW_PARTITIONS)
                    .extracting(Finding::topic).containsExactly(kafka.topics().chunks());
            assertThat(findings).filteredOn(f -> f.problem() == Problem.TOO_FEW_REPLICAS)
                    .extracting(Finding::topic).containsExactlyElementsOf(kafka.topics().all());
            assertThat(findings).hasSize(1 + kafka.topics().all().size());
        }
    }

    private TopicCheck.Report check(TopicNames topics, TopicCheck.Builder builder) {
        return builder.build().run(KafkaConnection.builder().bootstrapServers(KAFKA.bootstrapServers()).build(), topics);
    }
}
