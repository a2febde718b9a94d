package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

class TopicsTest {

    @Test
    void parsesRolesPartitionsAndTopicSettings() throws IOException {
        Topics topics = Topics.parse("roles=chunks,manifests\nchunks.partitions=6\n"
                + "chunks.config.max.message.bytes=2097152\nchunks.config.cleanup.policy=delete\n");
        assertThat(topics.specs()).hasSize(2);
        assertThat(topics.spec("chunks").partitions()).isEqualTo(6);
        assertThat(topics.spec("chunks").config()).containsEntry("max.message.bytes", "2097152")
                .containsEntry("cleanup.policy", "delete");
        assertThat(topics.spec("manifests").partitions()).isEqualTo(1);
        assertThat(topics.names("p")).containsExactly("p.chunks", "p.manifests");
    }

    @Test
    void theBundledFileIsTheClusterScriptsOne() {
        Topics topics = Topics.bundled();
        assertThat(topics.specs()).extracting(Topics.Spec::role).contains("chunks", "manifests", "control", "status");
        assertThat(topics.spec("chunks").partitions()).isPositive();
    }
}
