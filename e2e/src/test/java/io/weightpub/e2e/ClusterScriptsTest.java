package io.weightpub.e2e;

import io.weightpub.e2e.testutils.ClusterScripts;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Pieces of the cluster scripts that need no running cluster. */
class ClusterScriptsTest {

    @Test
    void clusterIdsNeverStartWithADashThatKafkaStorageWouldReadAsAnOption() {
        // An id starts with '-' one time in 64: among 1000, the chance that none does is 1.5e-7.
        List<String> ids = ClusterScripts.withCommon(Duration.ofMinutes(2),
                "for _ in $(seq 1 1000); do new_cluster_id; done").lines().toList();
        assertThat(ids).hasSize(1000).doesNotHaveDuplicates()
                .allSatisfy(id -> assertThat(id).matches("[A-Za-z0-9_][A-Za-z0-9_-]{21}"));
    }
}
