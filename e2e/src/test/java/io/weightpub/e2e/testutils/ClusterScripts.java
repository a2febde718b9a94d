package io.weightpub.e2e.testutils;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the scripts of {@code scripts/cluster}: the harness starts, stops and submits through them,
 * exactly as a user would, so the tests prove the scripts too.
 *
 * <p>Locations come from system properties set by the e2e pom: {@code weightpub.repo.root},
 * {@code weightpub.work.root}, {@code weightpub.maven.offline}; without them the repository root
 * is found from the working directory.
 */
public final class ClusterScripts {

    /** Parts ("kafka", "flink") of work folders that are started and not stopped yet. */
    private static final Set<Part> RUNNING = ConcurrentHashMap.newKeySet();
    private static final AtomicInteger WORK_DIRS = new AtomicInteger();
    private static volatile Path fetchedLibs;

    static {
        // Last resort: a test JVM that exits without closing its clusters still stops them.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Part part : RUNNING) {
                try {
                    stop(part.work(), part.name());
                } catch (RuntimeException e) {
                    System.err.println("could not stop " + part + ": " + e.getMessage());
                }
            }
        }, "weightpub-e2e-stop-all"));
    }

    private ClusterScripts() {}

    public static Path repoRoot() {
        String configured = System.getProperty("weightpub.repo.root");
        if (configured != null) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("scripts/cluster/common.sh"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no scripts/cluster above " + Path.of("").toAbsolutePath()
                + "; set -Dweightpub.repo.root");
    }

    public static Path scriptsDir() {
        return repoRoot().resolve("scripts/cluster");
    }

    /** The shaded weightpub job jar (system property {@code weightpub.job.jar}); must exist. */
    public static Path jobJar() {
        return builtJar("weightpub.job.jar", "job/target/weightpub-job-0.1.0-SNAPSHOT.jar");
    }

    /** The publisher CLI jar (system property {@code weightpub.publisher.cli.jar}); must exist. */
    public static Path publisherCliJar() {
        return builtJar("weightpub.publisher.cli.jar", "publisher/target/weightpub-publisher-0.1.0-SNAPSHOT-cli.jar");
    }

    /** The smoke job of this module (system property {@code weightpub.smoke.jar}); must exist. */
    public static Path smokeJobJar() {
        return builtJar("weightpub.smoke.jar", "e2e/target/weightpub-e2e-0.1.0-SNAPSHOT-smoke-job.jar");
    }

    private static Path builtJar(String property, String defaultPath) {
        String configured = System.getProperty(property);
        Path jar = configured != null ? Path.of(configured) : repoRoot().resolve(defaultPath);
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("no " + jar + ": build it first (mvn -B package), or set -D" + property);
        }
        return jar.toAbsolutePath().normalize();
    }

    /** The jar cache of {@code fetch.sh}: {@code <repo>/target/cluster-libs}. */
    public static Path libsDir() {
        return repoRoot().resolve("target/cluster-libs");
    }

    /** Resolves the cluster jars (once per JVM; fetch.sh itself skips work already done). */
    public static Path fetchLibs() {
        if (fetchedLibs == null) {
            synchronized (ClusterScripts.class) {
                if (fetchedLibs == null) {
                    run(Duration.ofMinutes(10), "fetch.sh", libsDir().toString());
                    fetchedLibs = libsDir();
                }
            }
        }
        return fetchedLibs;
    }

    /** A new, empty work folder under {@code weightpub.work.root} (default e2e/target/e2e-work). */
    public static Path newWorkDir(String name) {
        String root = System.getProperty("weightpub.work.root");
        Path base = root != null ? Path.of(root) : repoRoot().resolve("e2e/target/e2e-work");
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path dir = base.resolve(name + "-" + stamp + "-" + WORK_DIRS.incrementAndGet()).toAbsolutePath();
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs {@code scripts/cluster/<script> args} and returns its standard output, trimmed; fails
     * with the script's error output when it exits non-zero or runs past the timeout.
     */
    public static String run(Duration timeout, String script, String... args) {
        List<String> command = new ArrayList<>();
        command.add("bash");
        command.add(scriptsDir().resolve(script).toString());
        command.addAll(List.of(args));
        return exec(timeout, script, command);
    }

    /**
     * Runs bash {@code commands} after sourcing {@code scripts/cluster/common.sh}, to test its
     * functions directly; returns standard output as {@link #run} does.
     */
    public static String withCommon(Duration timeout, String commands) {
        String common = scriptsDir().resolve("common.sh").toString();
        return exec(timeout, "common.sh", List.of("bash", "-c", "set -euo pipefail; source \"$0\"; " + commands, common));
    }

    private static String exec(Duration timeout, String script, List<String> command) {
        Path out = null;
        Path err = null;
        try {
            // A script in a subfolder (secure/...) has a '/' a temp file name cannot hold.
            String stem = "weightpub-" + script.replace('/', '-');
            out = Files.createTempFile(stem, ".out");
            err = Files.createTempFile(stem, ".err");
            ProcessBuilder builder = new ProcessBuilder(command)
                    .directory(repoRoot().toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile());
            if (Boolean.getBoolean("weightpub.maven.offline")) {
                builder.environment().put("MAVEN_ARGS", "-o");
            }
            Process process = builder.start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new IllegalStateException(script + " ran past " + timeout + ": " + String.join(" ", command)
                        + "\n" + Files.readString(err, StandardCharsets.UTF_8));
            }
            String stdout = Files.readString(out, StandardCharsets.UTF_8).trim();
            if (process.exitValue() != 0) {
                throw new IllegalStateException(script + " failed with exit code " + process.exitValue() + ": "
                        + String.join(" ", command) + "\n" + Files.readString(err, StandardCharsets.UTF_8)
                        + stdout);
            }
            return stdout;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + script, e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    /** Registers a started part ("kafka" or "flink") that the shutdown hook stops if nobody did. */
    static void stopOnExit(Path work, String part) {
        RUNNING.add(new Part(work, part));
    }

    /** Stops one part ("kafka" or "flink") of a work folder with stop-all.sh. */
    static void stop(Path work, String part) {
        run(Duration.ofMinutes(2), "stop-all.sh", "--work", work.toString(), "--only", part);
        RUNNING.remove(new Part(work, part));
    }

    private record Part(Path work, String name) {}

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a temp file left behind is harmless
            }
        }
    }
}
