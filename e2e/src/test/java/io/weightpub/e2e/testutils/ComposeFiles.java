package io.weightpub.e2e.testutils;

import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The services of compose files of the repository root, merged as {@code docker compose -f a.yml
 * -f b.yml} merges them, as far as weightpub's files use it: mappings (environment, depends_on,
 * healthcheck) merge key by key, volumes by their path in the container, ports add up, anything
 * else (command, entrypoint, image, user) is replaced.
 */
public final class ComposeFiles {

    private static final Pattern VOLUME_TARGET = Pattern.compile("^(\\$\\{[^}]*}|[^:]*):([^:]+)");

    private ComposeFiles() {}

    public static Map<String, Map<String, Object>> services(String... files) {
        Map<String, Map<String, Object>> merged = new LinkedHashMap<>();
        for (String file : files) {
            load(file).forEach((name, service) -> {
                Map<String, Object> into = merged.computeIfAbsent(name, n -> new LinkedHashMap<>());
                map(service).forEach((key, value) -> into.put(key, merge(key, into.get(key), value)));
            });
        }
        return merged;
    }

    /** A service's environment mapping, values as strings. */
    public static Map<String, String> environment(Map<String, Object> service) {
        Map<String, String> env = new LinkedHashMap<>();
        Object value = service.get("environment");
        if (value != null) {
            map(value).forEach((key, v) -> env.put(key, String.valueOf(v)));
        }
        return env;
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> map(Object value) {
        if (!(value instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("expected a mapping, got " + value);
        }
        return (Map<String, Object>) value;
    }

    public static List<String> list(Object value) {
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List<?> items)) {
            throw new IllegalArgumentException("expected a list, got " + value);
        }
        return items.stream().map(String::valueOf).toList();
    }

    private static Map<String, Object> load(String file) {
        try (Reader reader = Files.newBufferedReader(ClusterScripts.repoRoot().resolve(file), StandardCharsets.UTF_8)) {
            Map<String, Object> root = new Yaml().load(reader);
            return map(root.get("services"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Object merge(String key, Object base, Object override) {
        if (base == null) {
            return override;
        }
        if (base instanceof Map<?, ?> && override instanceof Map<?, ?>) {
            Map<String, Object> merged = new LinkedHashMap<>(map(base));
            merged.putAll(map(override));
            return merged;
        }
        if (key.equals("volumes")) {
            Map<String, String> byTarget = new LinkedHashMap<>();
            for (String volume : concat(list(base), list(override))) {
                Matcher target = VOLUME_TARGET.matcher(volume);
                if (!target.find()) {
                    throw new IllegalArgumentException("not a volume: " + volume);
                }
                byTarget.put(target.group(2), volume);
            }
            return new ArrayList<>(byTarget.values());
        }
        if (key.equals("ports")) {
            return concat(list(base), list(override));
        }
        return override;
    }

    private static List<String> concat(List<String> first, List<String> second) {
        List<String> all = new ArrayList<>(first);
        all.addAll(second);
        return all;
    }
}
