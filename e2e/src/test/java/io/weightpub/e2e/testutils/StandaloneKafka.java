package io.weightpub.e2e.testutils;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

/**
 * A single-node KRaft Kafka broker in its own JVM, started and stopped with
 * {@code scripts/cluster/start-kafka.sh} / {@code stop-all.sh}; listens on 127.0.0.1 only.
 *
 * <pre>{@code
 * try (StandaloneKafka kafka = StandaloneKafka.start(ClusterScripts.newWorkDir("kafka"))) {
 *     kafka.createWeightpubTopics("weightpub");
 *     ... kafka.bootstrapServers() ...
 * }
 * }</pre>
 */
public final class StandaloneKafka implements AutoCloseable {

    private static final String PART = "kafka";

    private final Path work;
    private final String bootstrapServers;
    private boolean closed;

    private StandaloneKafka(Path work, String bootstrapServers) {
        this.work = work;
        this.bootstrapServers = bootstrapServers;
    }

    public static StandaloneKafka start(Path work) {
        return start(work, Map.of());
    }

    /** Starts a broker; {@code brokerSettings} are added to its server.properties. */
    public static StandaloneKafka start(Path work, Map<String, String> brokerSettings) {
        Path libs = ClusterScripts.fetchLibs();
        List<String> args = new ArrayList<>(List.of("--work", work.toString(), "--libs", libs.toString()));
        brokerSettings.forEach((key, value) -> {
            args.add("--set");
            args.add(key + "=" + value);
        });
        ClusterScripts.stopOnExit(work, PART);
        try {
            String output = ClusterScripts.run(Duration.ofMinutes(3), "start-kafka.sh", args.toArray(String[]::new));
            return new StandaloneKafka(work, lastLine(output));
        } catch (RuntimeException e) {
            ClusterScripts.stop(work, PART);
            throw e;
        }
    }

    /** {@code 127.0.0.1:<port>}. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    public int port() {
        return Integer.parseInt(bootstrapServers.substring(bootstrapServers.lastIndexOf(':') + 1));
    }

    public Path workDir() {
        return work;
    }

    /** The broker's log4j log. */
    public Path logFile() {
        return work.resolve("kafka/logs/server.log");
    }

    public long pid() {
        try {
            return Long.parseLong(Files.readString(work.resolve("kafka/kafka.pid")).trim());
        } catch (IOException e) {
            throw new UncheckedIOException("the broker of " + work + " has no pid file", e);
        }
    }

    /** Client properties with the bootstrap servers, for producers, consumers and admins. */
    public Properties clientProperties() {
        Properties properties = new Properties();
        properties.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return properties;
    }

    public Admin admin() {
        return Admin.create(clientProperties());
    }

    public void createTopic(String name, int partitions, Map<String, String> config) {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(config))).all().get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not create topic " + name, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Creates {@code <prefix>.chunks} ... {@code <prefix>.dlq} with create-topics.sh. */
    public void createWeightpubTopics(String prefix) {
        ClusterScripts.run(Duration.ofMinutes(3), "create-topics.sh", "--bootstrap-server", bootstrapServers,
                "--prefix", prefix, "--libs", ClusterScripts.libsDir().toString());
    }

    /**
     * Stops the broker and starts it again on the same port and data (a broker restart as an
     * operator would do it); clients reconnect on their own.
     */
    public void restart() {
        int port = port();
        ClusterScripts.stop(work, PART);
        ClusterScripts.run(Duration.ofMinutes(3), "start-kafka.sh", "--work", work.toString(),
                "--libs", ClusterScripts.libsDir().toString(), "--port", String.valueOf(port));
    }

    /** Stops the broker (TERM, then KILL after 30 s); its data and logs stay in the work folder. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            ClusterScripts.stop(work, PART);
        }
    }

    static String lastLine(String output) {
        String[] lines = output.split("\n");
        return lines[lines.length - 1].trim();
    }
}
