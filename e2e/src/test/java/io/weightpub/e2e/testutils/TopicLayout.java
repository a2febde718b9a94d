package io.weightpub.e2e.testutils;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The topic settings of {@code scripts/cluster/topics.properties}, the one source of truth that
 * {@code create-topics.sh} (scripts and docker-compose) applies; tests compare against it.
 */
public final class TopicLayout {

    private final Properties properties;

    private TopicLayout(Properties properties) {
        this.properties = properties;
    }

    public static TopicLayout load() {
        return load(ClusterScripts.scriptsDir().resolve("topics.properties"));
    }

    public static TopicLayout load(Path file) {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new TopicLayout(properties);
    }

    /** chunks, manifests, control, status, versions, dlq: topic {@code <prefix>.<role>} each. */
    public List<String> roles() {
        return Arrays.stream(required("roles").split(",")).map(String::trim).toList();
    }

    public static String topic(String prefix, String role) {
        return prefix + "." + role;
    }

    public short replicationFactor() {
        return Short.parseShort(properties.getProperty("replication.factor", "1").trim());
    }

    public int partitions(String role) {
        return Integer.parseInt(required(role + ".partitions"));
    }

    /** The topic settings of a role, e.g. {@code max.message.bytes -> 2097152}. */
    public Map<String, String> config(String role) {
        String prefix = role + ".config.";
        Map<String, String> config = new TreeMap<>();
        for (String key : properties.stringPropertyNames()) {
            if (key.startsWith(prefix)) {
                config.put(key.substring(prefix.length()), properties.getProperty(key).trim());
            }
        }
        return config;
    }

    private String required(String key) {
        String value = properties.getProperty(key);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("topics.properties has no " + key);
        }
        return value.trim();
    }
}
