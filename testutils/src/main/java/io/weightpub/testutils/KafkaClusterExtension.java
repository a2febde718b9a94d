package io.weightpub.testutils;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.Map;

/**
 * JUnit 5 extension: one in-process KRaft broker per test class. Register it as a static field
 * with {@code @RegisterExtension}.
 */
public final class KafkaClusterExtension implements BeforeAllCallback, AfterAllCallback {

    private final Map<String, Object> brokerConfig;
    private EmbeddedKafka kafka;

    public KafkaClusterExtension() {
        this(Map.of());
    }

    public KafkaClusterExtension(Map<String, Object> brokerConfig) {
        this.brokerConfig = brokerConfig;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        kafka = EmbeddedKafka.start(brokerConfig);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (kafka != null) {
            kafka.close();
            kafka = null;
        }
    }

    public EmbeddedKafka kafka() {
        if (kafka == null) {
            throw new IllegalStateException("the Kafka cluster runs only between beforeAll and afterAll");
        }
        return kafka;
    }

    public String bootstrapServers() {
        return kafka().bootstrapServers();
    }

    public void createTopic(String name, int partitions, Map<String, String> config) {
        kafka().createTopic(name, partitions, config);
    }
}
