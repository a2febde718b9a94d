package io.weightpub.e2e.testutils;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;

/**
 * The locked-down broker of {@code scripts/cluster/secure}: started with start-kafka-secure.sh
 * (SASL_SSL, SCRAM users, StandardAuthorizer), topics made with create-topics.sh and rights
 * granted with acls.sh as the admin user, exactly as docs/security.md tells an operator to.
 */
public final class SecuredKafka implements AutoCloseable {

    private static final String PART = "kafka";

    private final Path work;
    private final String bootstrapServers;
    private boolean closed;

    private SecuredKafka(Path work, String bootstrapServers) {
        this.work = work;
        this.bootstrapServers = bootstrapServers;
    }

    /** Starts the broker, creates the topics of {@code prefix} and grants the default roles their ACLs. */
    public static SecuredKafka start(Path work, String prefix) {
        Path libs = ClusterScripts.fetchLibs();
        ClusterScripts.stopOnExit(work, PART);
        try {
            String output = ClusterScripts.run(Duration.ofMinutes(3), "secure/start-kafka-secure.sh",
                    "--work", work.toString(), "--libs", libs.toString());
            SecuredKafka kafka = new SecuredKafka(work, StandaloneKafka.lastLine(output));
            String admin = kafka.clientPropertiesFile("admin").toString();
            ClusterScripts.run(Duration.ofMinutes(3), "create-topics.sh", "--bootstrap-server",
                    kafka.bootstrapServers, "--prefix", prefix, "--command-config", admin, "--libs", libs.toString());
            ClusterScripts.run(Duration.ofMinutes(3), "secure/acls.sh", "--bootstrap-server", kafka.bootstrapServers,
                    "--prefix", prefix, "--command-config", admin, "--libs", libs.toString());
            return kafka;
        } catch (RuntimeException e) {
            ClusterScripts.stop(work, PART);
            throw e;
        }
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** {@code secure/clients/<user>.properties}, written by start-kafka-secure.sh. */
    public Path clientPropertiesFile(String user) {
        return work.resolve("secure/clients/" + user + ".properties");
    }

    /** The Kafka client settings of {@code user} (bootstrap servers, SASL_SSL, SCRAM login, truststore). */
    public Properties clientProperties(String user) {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(clientPropertiesFile(user))) {
            properties.load(reader);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return properties;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            ClusterScripts.stop(work, PART);
        }
    }
}
