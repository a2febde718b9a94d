package io.weightpub.bench;

import io.weightpub.publisher.ByteSize;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Command-line options of the benchmark mains: {@code --key value} pairs and bare {@code --flag}s,
 * after positional arguments. Unknown keys are an error, so a typo never silently runs the
 * default.
 */
public final class BenchArgs {

    private final List<String> positional;
    private final Map<String, String> options;

    private BenchArgs(List<String> positional, Map<String, String> options) {
        this.positional = positional;
        this.options = options;
    }

    public static BenchArgs parse(String... args) {
        List<String> positional = new ArrayList<>();
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.startsWith("--") && arg.length() > 2) {
                String key = arg.substring(2);
                int eq = key.indexOf('=');
                if (eq > 0) {
                    options.put(key.substring(0, eq), key.substring(eq + 1));
                } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                    options.put(key, args[++i]);
                } else {
                    options.put(key, "true");
                }
            } else if (options.isEmpty()) {
                positional.add(arg);
            } else {
                throw new IllegalArgumentException("argument '" + arg + "' follows an option; expected --key value");
            }
        }
        return new BenchArgs(positional, options);
    }

    /** Fails on any option not in {@code known}. */
    public BenchArgs allow(String... known) {
        List<String> allowed = List.of(known);
        for (String key : options.keySet()) {
            if (!allowed.contains(key)) {
                throw new IllegalArgumentException("unknown option --" + key + "; known: --" + String.join(", --", known));
            }
        }
        return this;
    }

    public List<String> positional() {
        return positional;
    }

    public Optional<String> get(String key) {
        return Optional.ofNullable(options.get(key));
    }

    public String get(String key, String fallback) {
        return options.getOrDefault(key, fallback);
    }

    public boolean flag(String key) {
        String value = options.get(key);
        return value != null && !value.equalsIgnoreCase("false");
    }

    public int intValue(String key, int fallback) {
        return get(key).map(Integer::parseInt).orElse(fallback);
    }

    public long bytes(String key, long fallback) {
        return get(key).map(ByteSize::parse).orElse(fallback);
    }

    public Path path(String key, Path fallback) {
        return get(key).map(Path::of).orElse(fallback);
    }

    /** A comma-separated list of byte sizes ({@code 1g,4g}), or {@code fallback}. */
    public List<Long> sizes(String key, List<Long> fallback) {
        return get(key).map(BenchArgs::parseSizes).orElse(fallback);
    }

    /** A comma-separated list of integers ({@code 1,3}), or {@code fallback}. */
    public List<Integer> ints(String key, List<Integer> fallback) {
        return get(key).map(BenchArgs::parseInts).orElse(fallback);
    }

    static List<Long> parseSizes(String text) {
        List<Long> sizes = new ArrayList<>();
        for (String part : text.split(",")) {
            if (!part.isBlank()) {
                sizes.add(ByteSize.parse(part.trim()));
            }
        }
        if (sizes.isEmpty()) {
            throw new IllegalArgumentException("'" + text + "' names no size");
        }
        return sizes;
    }

    static List<Integer> parseInts(String text) {
        List<Integer> values = new ArrayList<>();
        for (String part : text.split(",")) {
            if (!part.isBlank()) {
                values.add(Integer.parseInt(part.trim()));
            }
        }
        if (values.isEmpty()) {
            throw new IllegalArgumentException("'" + text + "' names no number");
        }
        return values;
    }
}
