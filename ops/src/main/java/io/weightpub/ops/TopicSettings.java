package io.weightpub.ops;

import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The topics of a deployment as {@code scripts/cluster/topics.properties} defines them: roles,
 * replication factor, per role its partitions and Kafka settings ({@code <role>.config.<key>}).
 * The build copies that file into the jar ({@link #bundled()}), so the scripts, the compose file
 * and these commands share one source of truth. Immutable.
 */
@PublicEvolving
public final class TopicSettings {

    /** Where the build puts the copy of {@code scripts/cluster/topics.properties}. */
    public static final String RESOURCE = "/io/weightpub/ops/topics.properties";

    private final String source;
    private final Map<String, TopicSpec> specs;

    private TopicSettings(String source, Map<String, TopicSpec> specs) {
        this.source = source;
        this.specs = Collections.unmodifiableMap(new LinkedHashMap<>(specs));
    }

    /** The settings built into the jar. */
    public static TopicSettings bundled() {
        try (InputStream in = TopicSettings.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + RESOURCE + " is missing; the ops module's build copies it"
                        + " from scripts/cluster/topics.properties");
            }
            return parse(new InputStreamReader(in, StandardCharsets.UTF_8), "topics.properties (bundled)");
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + RESOURCE, e);
        }
    }

    public static TopicSettings load(Path file) throws IOException {
        try (Reader reader = Files.newBufferedReader(file)) {
            return parse(reader, file.toString());
        }
    }

    /** Parses the format of {@code topics.properties}; {@code source} names it in errors. */
    public static TopicSettings parse(Reader reader, String source) throws IOException {
        Properties file = new Properties();
        file.load(reader);
        String roles = value(file, "roles");
        if (roles == null) {
            throw new IllegalArgumentException(source + " defines no roles (expected roles=chunks,manifests,...)");
        }
        String replication = value(file, "replication.factor");
        short replicationFactor = replication == null ? 1 : (short) number(source, "replication.factor", replication);
        Map<String, TopicSpec> specs = new LinkedHashMap<>();
        for (String role : roles.split(",")) {
            role = role.trim();
            String partitions = value(file, role + ".partitions");
            if (partitions == null) {
                throw new IllegalArgumentException(source + " has no " + role + ".partitions");
            }
            String prefix = role + ".config.";
            Map<String, String> configs = new LinkedHashMap<>();
            for (String key : file.stringPropertyNames()) {
                if (key.startsWith(prefix)) {
                    configs.put(key.substring(prefix.length()), value(file, key));
                }
            }
            specs.put(role, new TopicSpec(role, (int) number(source, role + ".partitions", partitions),
                    replicationFactor, configs));
        }
        return new TopicSettings(source, specs);
    }

    private static String value(Properties file, String key) {
        String value = file.getProperty(key);
        return value == null ? null : value.trim();
    }

    private static long number(String source, String key, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(source + ": " + key + " must be a whole number, got '" + value + "'");
        }
    }

    /** Where the settings came from. */
    public String source() {
        return source;
    }

    /** The roles, in creation order. */
    public List<String> roles() {
        return new ArrayList<>(specs.keySet());
    }

    public List<TopicSpec> specs() {
        return List.copyOf(specs.values());
    }

    public TopicSpec spec(String role) {
        TopicSpec spec = specs.get(role);
        if (spec == null) {
            throw new IllegalArgumentException(source + " defines no role '" + role + "' (roles: " + specs.keySet() + ")");
        }
        return spec;
    }

    /** These settings with {@code role} given {@code partitions} partitions. */
    public TopicSettings withPartitions(String role, int partitions) {
        TopicSpec spec = spec(role);
        Map<String, TopicSpec> changed = new LinkedHashMap<>(specs);
        changed.put(role, new TopicSpec(role, partitions, spec.replicationFactor(), spec.configs()));
        return new TopicSettings(source + ", " + role + ".partitions=" + partitions, changed);
    }

    /** These settings with every topic replicated {@code replicationFactor} times. */
    public TopicSettings withReplicationFactor(short replicationFactor) {
        Map<String, TopicSpec> changed = new LinkedHashMap<>();
        specs.forEach((role, spec) ->
                changed.put(role, new TopicSpec(role, spec.partitions(), replicationFactor, spec.configs())));
        return new TopicSettings(source + ", replication.factor=" + replicationFactor, changed);
    }

    @Override
    public String toString() {
        return "TopicSettings{" + source + ": " + specs.values() + "}";
    }
}
