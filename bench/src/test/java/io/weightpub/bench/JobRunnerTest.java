package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JobRunnerTest {

    @Test
    void extraFlinkSettingsAreKeyValuePairsSeparatedBySemicolons() {
        assertThat(JobRunner.flinkSettings(" taskmanager.memory.segment-size = 1mb;taskmanager.memory.network.min=1gb"))
                .containsExactly(Map.entry("taskmanager.memory.segment-size", "1mb"),
                        Map.entry("taskmanager.memory.network.min", "1gb"));
        assertThat(JobRunner.flinkSettings(null)).isEmpty();
        assertThat(JobRunner.flinkSettings(" ")).isEmpty();
    }

    @Test
    void aSettingWithoutAValueIsRefused() {
        assertThatThrownBy(() -> JobRunner.flinkSettings("taskmanager.memory.segment-size"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not key=value");
    }
}
