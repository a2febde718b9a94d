package io.weightpub.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The raw measurements of a results folder: one {@code <bench>.csv} per benchmark (every run), plus
 * the environment each benchmark ran in ({@code env-<bench>.csv}).
 */
public final class Results {

    static final List<String> HEADER = List.of("bench", "case", "run", "metric", "value", "unit");

    private final List<Measurement> measurements;
    private final Map<String, Map<String, String>> environments;

    public Results(List<Measurement> measurements, Map<String, Map<String, String>> environments) {
        this.measurements = List.copyOf(measurements);
        this.environments = environments;
    }

    /** Writes one benchmark's measurements (replacing an earlier file of that benchmark). */
    public static Path write(Path dir, String bench, List<Measurement> measurements) throws IOException {
        List<List<String>> rows = new ArrayList<>();
        for (Measurement m : measurements) {
            rows.add(List.of(m.bench(), m.caseName(), String.valueOf(m.run()), m.metric(), number(m.value()), m.unit()));
        }
        Path file = dir.resolve(bench + ".csv");
        Csv.write(file, HEADER, rows);
        return file;
    }

    public static void writeEnvironment(Path dir, String bench, Map<String, String> env) throws IOException {
        List<List<String>> rows = new ArrayList<>();
        env.forEach((k, v) -> rows.add(List.of(k, v)));
        Csv.write(dir.resolve("env-" + bench + ".csv"), List.of("key", "value"), rows);
    }

    /** Reads every benchmark file of {@code dir} (files written by {@link #write}). */
    public static Results read(Path dir) throws IOException {
        List<Measurement> all = new ArrayList<>();
        Map<String, Map<String, String>> envs = new LinkedHashMap<>();
        if (!Files.isDirectory(dir)) {
            return new Results(all, envs);
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> p.getFileName().toString().endsWith(".csv")).sorted().collect(Collectors.toList());
        }
        for (Path file : files) {
            String name = file.getFileName().toString();
            List<List<String>> records = Csv.read(file);
            if (records.isEmpty()) {
                continue;
            }
            if (name.startsWith("env-")) {
                Map<String, String> env = new LinkedHashMap<>();
                records.stream().skip(1).filter(r -> r.size() >= 2).forEach(r -> env.put(r.get(0), r.get(1)));
                envs.put(name.substring(4, name.length() - 4), env);
            } else if (records.get(0).equals(HEADER)) {
                for (List<String> r : records.subList(1, records.size())) {
                    all.add(new Measurement(r.get(0), r.get(1), Integer.parseInt(r.get(2)), r.get(3),
                            Double.parseDouble(r.get(4)), r.get(5)));
                }
            }
        }
        return new Results(all, envs);
    }

    public List<Measurement> all() {
        return measurements;
    }

    public Map<String, Map<String, String>> environments() {
        return environments;
    }

    public boolean has(String bench) {
        return measurements.stream().anyMatch(m -> m.bench().equals(bench));
    }

    /** Cases of a benchmark in the order they were measured. */
    public List<String> cases(String bench) {
        Set<String> cases = new LinkedHashSet<>();
        measurements.stream().filter(m -> m.bench().equals(bench)).forEach(m -> cases.add(m.caseName()));
        return new ArrayList<>(cases);
    }

    /** The values of a metric, ordered by run. */
    public List<Double> values(String bench, String caseName, String metric) {
        return measurements.stream()
                .filter(m -> m.bench().equals(bench) && m.caseName().equals(caseName) && m.metric().equals(metric))
                .sorted((a, b) -> Integer.compare(a.run(), b.run()))
                .map(Measurement::value)
                .collect(Collectors.toList());
    }

    public double median(String bench, String caseName, String metric) {
        return Stats.median(values(bench, caseName, metric));
    }

    public Optional<String> unit(String bench, String metric) {
        return measurements.stream().filter(m -> m.bench().equals(bench) && m.metric().equals(metric))
                .map(Measurement::unit).findFirst();
    }

    /** Metrics of a case in the order they were measured. */
    public List<String> metrics(String bench, String caseName) {
        Set<String> metrics = new LinkedHashSet<>();
        measurements.stream().filter(m -> m.bench().equals(bench) && m.caseName().equals(caseName))
                .forEach(m -> metrics.add(m.metric()));
        return Collections.unmodifiableList(new ArrayList<>(metrics));
    }

    static String number(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return String.valueOf((long) v);
        }
        return String.format(Locale.ROOT, "%.6g", v);
    }
}
