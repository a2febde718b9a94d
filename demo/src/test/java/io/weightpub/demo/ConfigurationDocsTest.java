package io.weightpub.demo;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ConfigurationDocsTest {

    private static final Path README = Path.of("..", "README.md");

    @Test
    void readmeConfigurationTableMatchesTheOptionsClasses() throws Exception {
        String readme = Files.readString(README, StandardCharsets.UTF_8);
        assertThat(ConfigurationDocs.withTable(readme))
                .as("README.md is out of date: run scripts/config-docs.sh")
                .isEqualTo(readme);
    }

    @Test
    void tableListsEveryModulesOptions() {
        assertThat(ConfigurationDocs.table())
                .contains("`bootstrap.servers`", "`weightpub.sink.backend`", "`publisher.chunk-size`",
                        "`kafka.*`", "`publisher.producer.*`");
    }
}
