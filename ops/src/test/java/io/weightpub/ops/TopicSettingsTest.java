package io.weightpub.ops;

import org.junit.jupiter.api.Test;

import java.io.StringReader;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TopicSettingsTest {

    private static final Path SCRIPTS_FILE = Path.of("..", "scripts", "cluster", "topics.properties");

    @Test
    void bundledSettingsAreTheScriptsTopicsProperties() throws Exception {
        TopicSettings bundled = TopicSettings.bundled();
        TopicSettings file = TopicSettings.load(SCRIPTS_FILE);

        assertThat(bundled.specs()).isEqualTo(file.specs());
        assertThat(bundled.roles()).containsExactly("chunks", "manifests", "control", "status", "versions", "dlq");
    }

    @Test
    void parsesPartitionsReplicationAndConfigsPerRole() throws Exception {
        TopicSettings settings = TopicSettings.parse(new StringReader("""
                roles = chunks, status
                replication.factor=3
                chunks.partitions=6
                chunks.config.cleanup.policy=delete
                chunks.config.retention.ms= 1000
                status.partitions=1
                status.config.cleanup.policy=compact
                """), "test");

        assertThat(settings.spec("chunks"))
                .isEqualTo(new TopicSpec("chunks", 6, (short) 3, Map.of("cleanup.policy", "delete", "retention.ms", "1000")));
        assertThat(settings.spec("chunks").compacted()).isFalse();
        assertThat(settings.spec("status").compacted()).isTrue();
        assertThat(settings.spec("chunks").topic("wp")).isEqualTo("wp.chunks");
    }

    @Test
    void overridesChangeOnlyWhatTheyName() throws Exception {
        TopicSettings settings = TopicSettings.bundled().withPartitions("chunks", 12).withReplicationFactor((short) 3);

        assertThat(settings.spec("chunks").partitions()).isEqualTo(12);
        assertThat(settings.spec("manifests").partitions()).isEqualTo(TopicSettings.bundled().spec("manifests").partitions());
        assertThat(settings.specs()).allMatch(spec -> spec.replicationFactor() == 3);
        assertThat(settings.spec("chunks").configs()).isEqualTo(TopicSettings.bundled().spec("chunks").configs());
    }

    @Test
    void malformedSettingsNameWhatIsMissing() {
        assertThatThrownBy(() -> TopicSettings.parse(new StringReader("chunks.partitions=1"), "f"))
                .hasMessage("f defines no roles (expected roles=chunks,manifests,...)");
        assertThatThrownBy(() -> TopicSettings.parse(new StringReader("roles=chunks"), "f"))
                .hasMessage("f has no chunks.partitions");
        assertThatThrownBy(() -> TopicSettings.parse(new StringReader("roles=chunks\nchunks.partitions=six"), "f"))
                .hasMessage("f: chunks.partitions must be a whole number, got 'six'");
        assertThatThrownBy(() -> TopicSettings.parse(new StringReader("roles=chunks\nchunks.partitions=0"), "f"))
                .hasMessage("chunks: partitions must be at least 1, got 0");
        assertThatThrownBy(() -> TopicSettings.bundled().spec("logs"))
                .hasMessageContaining("defines no role 'logs'");
    }
}
