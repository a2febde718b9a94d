package io.weightpub.ops.cli;

import io.weightpub.ops.KafkaConnection;
import io.weightpub.schemas.TopicNames;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** How every operations command reaches Kafka (a picocli mixin). */
@Internal
public final class KafkaOptions {

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]",
            description = "Kafka bootstrap servers (or bootstrap.servers in --command-config).")
    String bootstrapServers;

    @Option(names = "--topic-prefix", defaultValue = TopicNames.DEFAULT_PREFIX,
            description = "Topic prefix of the deployment (default: ${DEFAULT-VALUE}).")
    String topicPrefix;

    @Option(names = "--command-config", paramLabel = "FILE",
            description = "Kafka client properties file (TLS, SASL), as kafka-topics' --command-config.")
    Path commandConfig;

    @Option(names = "--property", paramLabel = "KEY=VALUE",
            description = "Kafka client setting, e.g. security.protocol=SSL (repeatable; wins over --command-config).")
    Map<String, String> properties = new LinkedHashMap<>();

    @Option(names = "--kafka-timeout", paramLabel = "DURATION", defaultValue = "30s", converter = DurationConverter.class,
            description = "Longest one Kafka call may take (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    KafkaConnection connection() throws IOException {
        KafkaConnection.Builder builder = KafkaConnection.builder().timeout(timeout);
        if (commandConfig != null) {
            builder.propertiesFile(commandConfig);
        }
        builder.properties(properties);
        if (bootstrapServers != null) {
            builder.bootstrapServers(bootstrapServers);
        }
        return builder.build();
    }

    TopicNames topics() {
        return TopicNames.of(topicPrefix);
    }
}
