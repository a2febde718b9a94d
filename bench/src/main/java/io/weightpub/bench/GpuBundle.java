package io.weightpub.bench;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * What the GPU bundle of {@code scripts/bench.sh gpu-prepare} holds: the runtime's modules, and the
 * jars a trial run of the benchmark loaded classes from ({@code -Xlog:class+load} of every JVM it
 * started: the benchmark, the job, the Kafka tools).
 *
 * <pre>GpuBundle modules                 the modules to jlink, comma-separated
 * GpuBundle jars LOG_DIR             the file names of the jars a trial loaded classes from
 * GpuBundle runtime-modules LOG_DIR  the runtime modules a trial loaded classes from
 * GpuBundle prune LOG_DIR FROM TO    copies FROM's jars to TO, each with only the classes the trial
 *                                    loaded (resources kept); jars it loaded nothing from are left out</pre>
 *
 * <p>Pruning by class rather than by jar is what makes the bundle small: Flink's RPC system alone is a
 * 19 MiB jar nested in flink-rpc-akka-loader, of which the MiniCluster loads a fifth. The trial runs
 * the same code paths as the GPU run (the job at parallelism above 1, several workers, the Kafka
 * tools, the report), and the jars of this project and of JCuda are kept whole, since the trial has
 * no GPU.
 */
public final class GpuBundle {

    /**
     * The runtime's modules: those a trial run of the benchmark on a full JDK loaded classes from
     * ({@code GpuBundle runtime-modules}), among them java.management.rmi (Flink's TaskManager
     * registers its JMX port: NoClassDefFoundError in JMXService.getPort without it), java.desktop (the
     * report's PNG plots, XChart on headless AWT, and log4j-core's property-change events), jdk.jfr and
     * jdk.localedata (Kafka, date formats); plus jdk.crypto.ec and jdk.zipfs, which are tiny. Left out
     * because no JVM of the trial loaded them: java.net.http, java.scripting, java.security.jgss.
     */
    static final List<String> MODULES = List.of("java.base", "java.desktop", "java.logging", "java.management",
            "java.management.rmi", "java.naming", "java.rmi", "java.security.sasl", "java.sql", "java.xml",
            "jdk.crypto.ec", "jdk.jfr", "jdk.localedata", "jdk.management", "jdk.management.jfr", "jdk.net",
            "jdk.unsupported", "jdk.zipfs");

    /**
     * Jars kept whole whether or not the trial (host stores, no GPU) loaded them: the CUDA store's and
     * ours; and Log4j's, since the trial runs with logging off (below) and so never loads the layout
     * and message classes that the first warning on the GPU host needs.
     */
    static final List<String> ALWAYS = List.of("jcuda-", "weightpub-", "log4j-");

    /**
     * Logging configurations of test jars (flink-runtime's tests jar: root logger OFF). Log4j prefers
     * a {@code log4j2-test} file to the bench's own {@code log4j2.properties}, which silenced every
     * warning and error of the job on the GPU host.
     */
    static final List<String> TEST_LOG_CONFIGS = List.of("log4j2-test.");

    /**
     * Native libraries of JCuda the store never loads: it uses the driver API only (the PTX compiler
     * alone is 24 MB).
     */
    static final List<String> UNUSED_NATIVES = List.of("lib/libJNvPTXCompiler-", "lib/libJNvrtc-");

    private static final Pattern LOADED = Pattern.compile("\\]\\s(\\S+) source: ");
    private static final Pattern SOURCE = Pattern.compile("source: (?:jar:)?file:(\\S+?\\.jar)(?:!/)?\\s*$");
    private static final Pattern JRT = Pattern.compile("source: jrt:/([\\w.]+)");

    private GpuBundle() {}

    /** File names of the jars that the class-load log lines name as a class's source. */
    static Set<String> jars(List<String> logLines) {
        Set<String> jars = new TreeSet<>();
        for (String line : logLines) {
            Matcher m = SOURCE.matcher(line);
            if (m.find()) {
                jars.add(Path.of(m.group(1)).getFileName().toString());
            }
        }
        return jars;
    }

    /** Runtime modules that the class-load log lines name as a class's source. */
    static Set<String> runtimeModules(List<String> logLines) {
        Set<String> modules = new TreeSet<>();
        for (String line : logLines) {
            Matcher m = JRT.matcher(line);
            if (m.find()) {
                modules.add(m.group(1));
            }
        }
        return modules;
    }

    /** Names of every class the log lines show loaded from a jar or a directory (not the runtime's). */
    static Set<String> loadedClasses(List<String> logLines) {
        Set<String> classes = new java.util.HashSet<>();
        for (String line : logLines) {
            if (!line.contains("source: file:") && !line.contains("source: jar:file:")) {
                continue; // the runtime's classes, and hidden classes (lambdas) defined by another class
            }
            Matcher m = LOADED.matcher(line);
            if (m.find()) {
                classes.add(m.group(1));
            }
        }
        return classes;
    }

    /**
     * Which classes of a jar stay: those whose top-level class is in {@code topLevels} (see
     * {@link #topLevels}), or, with {@code byPackage}, every class of a package in {@code packages}.
     */
    record Selection(Set<String> topLevels, Set<String> packages, boolean byPackage) {

        static Selection of(Set<String> loaded, boolean byPackage) {
            Set<String> packages = new java.util.HashSet<>();
            loaded.forEach(c -> packages.add(c.lastIndexOf('.') < 0 ? "" : c.substring(0, c.lastIndexOf('.'))));
            return new Selection(GpuBundle.topLevels(loaded), packages, byPackage);
        }

        boolean keeps(String className) {
            if (byPackage) {
                int dot = className.lastIndexOf('.');
                return packages.contains(dot < 0 ? "" : className.substring(0, dot));
            }
            return topLevels.contains(topLevel(className));
        }
    }

    /**
     * Jars pruned by package rather than by class: Kafka's and Jackson's. Which of their classes load
     * depends on the path a consumer or the broker takes (a member that rejoins its group, a fetch that
     * validates its position, a segment that rolls at 1 GiB), or on the input a parser meets (a
     * safetensors header with a repeated key needs a class that the trial's headers never did), more
     * than the trial can walk.
     */
    static final List<String> BY_PACKAGE = List.of("kafka", "jackson-");

    /**
     * Whether a jar entry stays: directories and resources always (service files, configuration, native
     * libraries except {@link #UNUSED_NATIVES}), a class if {@code selection} keeps it (also under
     * META-INF/versions/N/); nested jars are pruned in turn.
     */
    static boolean keepEntry(String name, Selection selection) {
        if (UNUSED_NATIVES.stream().anyMatch(name::startsWith) || TEST_LOG_CONFIGS.stream().anyMatch(name::startsWith)) {
            return false;
        }
        if (!name.endsWith(".class") || name.endsWith("module-info.class")) {
            return true;
        }
        String path = name.startsWith("META-INF/versions/") ? name.substring(name.indexOf('/', 18) + 1) : name;
        return selection.keeps(path.substring(0, path.length() - ".class".length()).replace('/', '.'));
    }

    /** {@code a.B$C$1} → {@code a.B}: the class a nested, anonymous or synthetic class belongs to. */
    static String topLevel(String className) {
        int dollar = className.indexOf('$', className.lastIndexOf('.') + 1);
        return dollar < 0 ? className : className.substring(0, dollar);
    }

    /**
     * The top-level classes of the loaded ones: a class is kept with every class nested in it, since
     * which anonymous or inner classes run depends on the path taken (a consumer that rejoins its group
     * loads {@code ConsumerCoordinator$3}; one that does not, never).
     */
    static Set<String> topLevels(Set<String> loaded) {
        Set<String> tops = new java.util.HashSet<>();
        loaded.forEach(c -> tops.add(topLevel(c)));
        return tops;
    }

    /** Copies a jar with only the entries {@link #keepEntry} keeps; nested jars pruned the same way. */
    static void prune(InputStream jar, OutputStream out, Selection loaded) throws IOException {
        try (ZipInputStream in = new ZipInputStream(jar); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.setLevel(9);
            ZipEntry e;
            while ((e = in.getNextEntry()) != null) {
                if (!keepEntry(e.getName(), loaded)) {
                    continue;
                }
                zip.putNextEntry(new ZipEntry(e.getName()));
                if (e.getName().endsWith(".jar")) {
                    ByteArrayOutputStream nested = new ByteArrayOutputStream();
                    prune(new ByteArrayInputStream(in.readAllBytes()), nested, loaded);
                    nested.writeTo(zip);
                } else {
                    in.transferTo(zip);
                }
                zip.closeEntry();
            }
        }
    }

    /** The jars to keep of {@code available}: those loaded, plus {@link #ALWAYS}. */
    static List<String> keep(Set<String> loaded, List<String> available) {
        List<String> keep = new ArrayList<>();
        for (String jar : available) {
            if (loaded.contains(jar) || ALWAYS.stream().anyMatch(jar::startsWith)) {
                keep.add(jar);
            }
        }
        return keep;
    }

    private static List<String> logLines(Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                lines.addAll(Files.readAllLines(f));
            }
        }
        return lines;
    }

    private static void pruneAll(List<String> log, Path from, Path to) throws IOException {
        Set<String> loaded = loadedClasses(log);
        List<String> available;
        try (Stream<Path> files = Files.list(from)) {
            available = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".jar")).sorted().toList();
        }
        Files.createDirectories(to);
        for (String jar : keep(jars(log), available)) {
            try (InputStream in = Files.newInputStream(from.resolve(jar));
                    OutputStream out = Files.newOutputStream(to.resolve(jar))) {
                if (ALWAYS.stream().anyMatch(jar::startsWith) && !jar.startsWith("jcuda-natives-")) {
                    in.transferTo(out);
                } else {
                    prune(in, out, Selection.of(loaded, BY_PACKAGE.stream().anyMatch(jar::startsWith)));
                }
            }
            System.out.printf("%-60s %,12d -> %,12d bytes%n", jar, Files.size(from.resolve(jar)),
                    Files.size(to.resolve(jar)));
        }
    }

    public static void main(String[] args) throws IOException {
        String command = args.length > 0 ? args[0] : "";
        switch (command) {
            case "modules" -> System.out.println(String.join(",", MODULES));
            case "jars" -> jars(logLines(Path.of(args[1]))).forEach(System.out::println);
            case "runtime-modules" -> runtimeModules(logLines(Path.of(args[1]))).forEach(System.out::println);
            case "prune" -> pruneAll(logLines(Path.of(args[1])), Path.of(args[2]), Path.of(args[3]));
            default -> {
                System.err.println("usage: GpuBundle modules | jars LOG_DIR | runtime-modules LOG_DIR");
                System.exit(2);
            }
        }
    }
}
