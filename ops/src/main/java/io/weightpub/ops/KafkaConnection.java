package io.weightpub.ops;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

/**
 * How the operations commands reach Kafka: bootstrap servers, client settings shared by every
 * admin, consumer and producer (TLS, SASL, ...) and how long one Kafka call may take. Immutable;
 * the clients it creates belong to the caller.
 */
@PublicEvolving
public final class KafkaConnection {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private final String bootstrapServers;
    private final Map<String, String> properties;
    private final Duration timeout;

    private KafkaConnection(String bootstrapServers, Map<String, String> properties, Duration timeout) {
        this.bootstrapServers = bootstrapServers;
        this.properties = Map.copyOf(properties);
        this.timeout = timeout;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** The client settings besides the bootstrap servers. */
    public Map<String, String> properties() {
        return properties;
    }

    /** The longest a single Kafka call (metadata, offsets, a send) may take. */
    public Duration timeout() {
        return timeout;
    }

    public Admin admin() {
        Properties props = common();
        props.put(CommonClientConfigs.CLIENT_ID_CONFIG, "weightpub-ops-admin");
        props.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, Math.toIntExact(timeout.toMillis()));
        return Admin.create(props);
    }

    /**
     * A consumer without a group (the commands {@code assign} partitions and never commit) that
     * reads only committed records and never creates a topic by asking for it.
     */
    public Consumer<byte[], byte[]> consumer() {
        Properties props = common();
        props.put(CommonClientConfigs.CLIENT_ID_CONFIG, "weightpub-ops-reader");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        props.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, Math.toIntExact(timeout.toMillis()));
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** An idempotent producer that waits for all in-sync replicas. */
    public Producer<String, byte[]> producer() {
        Properties props = common();
        props.put(CommonClientConfigs.CLIENT_ID_CONFIG, "weightpub-ops-control");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Math.toIntExact(timeout.toMillis()));
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Math.toIntExact(timeout.toMillis()));
        props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        return new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    }

    private Properties common() {
        Properties props = new Properties();
        props.putAll(properties);
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        // Kafka requires request.timeout.ms <= default.api.timeout.ms (admin) and <= delivery.timeout.ms (producer).
        props.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, Math.toIntExact(Math.min(timeout.toMillis(), 30_000)));
        return props;
    }

    @Override
    public String toString() {
        // Property values may be secrets: name the keys only.
        return "KafkaConnection{" + bootstrapServers + ", properties=" + properties.keySet() + ", timeout=" + timeout + "}";
    }

    public static final class Builder {

        private String bootstrapServers;
        private final Map<String, String> properties = new LinkedHashMap<>();
        private Duration timeout = DEFAULT_TIMEOUT;

        private Builder() {
        }

        public Builder bootstrapServers(String bootstrapServers) {
            this.bootstrapServers = Objects.requireNonNull(bootstrapServers, "bootstrapServers");
            return this;
        }

        /** A Kafka client setting; {@code bootstrap.servers} here is used when none is set explicitly. */
        public Builder property(String key, String value) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value of " + key);
            properties.put(key, value);
            return this;
        }

        public Builder properties(Map<String, String> properties) {
            properties.forEach(this::property);
            return this;
        }

        /** Reads Kafka client settings from a properties file (as kafka-topics' {@code --command-config}). */
        public Builder propertiesFile(Path file) throws IOException {
            Properties loaded = new Properties();
            try (Reader reader = Files.newBufferedReader(file)) {
                loaded.load(reader);
            }
            for (String key : loaded.stringPropertyNames()) {
                property(key, loaded.getProperty(key).trim());
            }
            return this;
        }

        public Builder timeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.isZero() || timeout.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("timeout must be between 1 ms and " + Integer.MAX_VALUE
                        + " ms, got " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        public KafkaConnection build() {
            Map<String, String> settings = new LinkedHashMap<>(properties);
            String fromProperties = settings.remove(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
            String servers = bootstrapServers != null ? bootstrapServers : fromProperties;
            if (servers == null || servers.isBlank()) {
                throw new IllegalArgumentException(
                        "no Kafka bootstrap servers: set them (--bootstrap-servers host:port) or put bootstrap.servers"
                                + " in the client properties (--command-config)");
            }
            return new KafkaConnection(servers.trim(), settings, timeout);
        }
    }
}
