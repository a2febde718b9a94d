package io.weightpub.bench;

import io.weightpub.ops.TopicSpec;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TopicsTest {

    @Test
    void theBundledFileIsTheClusterScriptsOne() {
        Topics topics = Topics.bundled();
        assertThat(topics.specs()).extracting(TopicSpec::role).contains("chunks", "manifests", "control", "status");
        assertThat(topics.spec("chunks").partitions()).isPositive();
        assertThat(topics.names("p")).contains("p.chunks", "p.manifests");
    }

    @Test
    void withPartitionsChangesOnlyThatRole() {
        Topics topics = Topics.bundled().withPartitions("chunks", 3);
        assertThat(topics.spec("chunks").partitions()).isEqualTo(3);
        assertThat(topics.spec("chunks").configs()).isEqualTo(Topics.bundled().spec("chunks").configs());
        assertThat(topics.spec("manifests").partitions()).isEqualTo(Topics.bundled().spec("manifests").partitions());
    }
}
