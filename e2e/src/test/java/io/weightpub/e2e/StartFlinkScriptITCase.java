package io.weightpub.e2e;

import io.weightpub.e2e.testutils.ClusterScripts;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** start-flink.sh when the start fails: it says why and leaves nothing running. */
@Tag("e2e")
class StartFlinkScriptITCase {

    private static final Duration START = Duration.ofMinutes(3);

    @BeforeAll
    static void fetchJars() {
        ClusterScripts.fetchLibs();
    }

    @Test
    void aTaskManagerMemoryThatDoesNotFitFailsBeforeAnythingStartsAndNamesTheWorkingFlags() {
        Path work = ClusterScripts.newWorkDir("flink-memory");
        assertThatThrownBy(() -> ClusterScripts.run(START, "start-flink.sh", "--work", work.toString(),
                "--tm-memory", "4g", "-D", "taskmanager.memory.task.off-heap.size=2g"))
                .hasMessageContaining("do not fit in --tm-memory 4g")
                .hasMessageContaining("-D taskmanager.memory.managed.size=0");
        assertThat(work.resolve("flink/jobmanager.pid")).doesNotExist();
    }

    @Test
    void aStartThatFailsAfterTheJobManagerStartedStopsItSoThatARetryStarts() {
        Path work = ClusterScripts.newWorkDir("flink-retry");
        // The TaskManager's JVM cannot load Flink in 16 MiB of metaspace: it fails after the JobManager is up.
        assertThatThrownBy(() -> ClusterScripts.run(START, "start-flink.sh", "--work", work.toString(),
                "-D", "taskmanager.memory.jvm-metaspace.size=16m"))
                .hasMessageContaining("start failed: stopping the Flink processes it started");
        assertThat(work.resolve("flink/jobmanager.pid")).as("the JobManager was stopped").doesNotExist();
        try {
            // The flags docs/operations.md gives for a 4 GiB TaskManager with 2 GiB of host weight store.
            String rest = ClusterScripts.run(START, "start-flink.sh", "--work", work.toString(), "--tm-memory", "4g",
                    "-D", "taskmanager.memory.task.off-heap.size=2g", "-D", "taskmanager.memory.managed.size=0");
            assertThat(rest).startsWith("http://127.0.0.1:");
        } finally {
            ClusterScripts.run(Duration.ofMinutes(2), "stop-all.sh", "--work", work.toString(), "--only", "flink");
        }
    }
}
