package io.weightpub.publisher.internal;

import org.apache.flink.annotation.Internal;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.config.ConfigResource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** Broker settings the publisher adapts to, read with an admin client on the producer's connection settings. */
@Internal
public final class BrokerSettings {

    private static final Logger LOG = LoggerFactory.getLogger(BrokerSettings.class);
    private static final String MAX_TIMEOUT = "transaction.max.timeout.ms";
    private static final long QUERY_TIMEOUT_SECONDS = 15;

    private BrokerSettings() {
    }

    /**
     * A broker's {@code transaction.max.timeout.ms}; Kafka's default, 15 min, when it cannot be
     * read (no DescribeConfigs permission, an old broker), which is logged.
     */
    public static Duration transactionMaxTimeout(Map<String, Object> producerConfig) {
        Map<String, Object> adminConfig = producerConfig.entrySet().stream()
                .filter(e -> AdminClientConfig.configNames().contains(e.getKey()))
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
        adminConfig.put(AdminClientConfig.CLIENT_ID_CONFIG, "weightpub-publisher-admin");
        try (Admin admin = Admin.create(adminConfig)) {
            Collection<Node> nodes = admin.describeCluster().nodes().get(QUERY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER,
                    String.valueOf(nodes.iterator().next().id()));
            Config config = admin.describeConfigs(List.of(broker)).all()
                    .get(QUERY_TIMEOUT_SECONDS, TimeUnit.SECONDS).get(broker);
            ConfigEntry entry = config.get(MAX_TIMEOUT);
            return Duration.ofMillis(Long.parseLong(entry.value()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the brokers' " + MAX_TIMEOUT, e);
        } catch (Exception e) {
            LOG.warn("Could not read the brokers' {} ({}); assuming Kafka's default of {}."
                            + " Set publisher.transaction.max-timeout to the brokers' value.",
                    MAX_TIMEOUT, e.toString(), TransactionTimeouts.BROKER_DEFAULT_MAX);
            return TransactionTimeouts.BROKER_DEFAULT_MAX;
        }
    }
}
