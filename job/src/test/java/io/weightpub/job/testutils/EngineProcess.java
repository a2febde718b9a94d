package io.weightpub.job.testutils;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * A Python engine process (python/tests/engine_follower.py, Debian's python3 with numpy) following
 * one worker's versions through weightpub.engine; its JSON event lines are collected. Stopped on close.
 */
public final class EngineProcess implements AutoCloseable {

    /** The interpreter: Debian's, with numpy from apt (.ci/run installs it); overridable for other hosts. */
    public static final String PYTHON = System.getProperty("weightpub.test.python", "/usr/bin/python3");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final List<JsonNode> events = new CopyOnWriteArrayList<>();
    private final List<String> stderr = new CopyOnWriteArrayList<>();

    private EngineProcess(Process process) {
        this.process = process;
        daemon(() -> {
            try (BufferedReader out = reader(process.getInputStream())) {
                for (String line; (line = out.readLine()) != null; ) {
                    events.add(JSON.readTree(line));
                }
            } catch (IOException e) {
                stderr.add("stdout: " + e);
            }
        });
        daemon(() -> {
            try (BufferedReader err = reader(process.getErrorStream())) {
                for (String line; (line = err.readLine()) != null; ) {
                    stderr.add(line);
                }
            } catch (IOException e) {
                stderr.add("stderr: " + e);
            }
        });
    }

    /** Starts the follower on {@code socket} for {@code model}; {@code extra} are further arguments. */
    public static EngineProcess start(Path socket, String model, String engine, String... extra) {
        Path script = pythonDir().resolve("tests/engine_follower.py");
        List<String> command = new ArrayList<>(List.of(PYTHON, script.toString(), "--socket", socket.toString(),
                "--model", model, "--engine", engine));
        command.addAll(List.of(extra));
        try {
            return new EngineProcess(new ProcessBuilder(command).start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /** The repository's python/ folder, from a module's working directory. */
    public static Path pythonDir() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("python/weightpub/engine"))) {
                return dir.resolve("python");
            }
        }
        throw new IllegalStateException("no python/weightpub/engine above " + Path.of("").toAbsolutePath());
    }

    public List<JsonNode> events() {
        return List.copyOf(events);
    }

    public Optional<JsonNode> event(String type, long version) {
        return events.stream()
                .filter(e -> e.path("event").asText().equals(type) && e.path("version").asLong() == version)
                .findFirst();
    }

    /** Waits for an event of {@code type} for {@code version}; fails with the process's stderr if it exits. */
    public JsonNode await(String type, long version) throws InterruptedException {
        RunningJob.await("engine event " + type + " for version " + version + " (events so far " + events
                + ", stderr " + stderr + ")", () -> {
                    if (event(type, version).isPresent()) {
                        return true;
                    }
                    if (!process.isAlive() && event(type, version).isEmpty()) {
                        throw new AssertionError("engine process exited " + process.exitValue() + " before "
                                + type + " of version " + version + "; events " + events + "; stderr " + stderr);
                    }
                    return false;
                });
        return event(type, version).orElseThrow();
    }

    public boolean any(Predicate<JsonNode> match) {
        return events.stream().anyMatch(match);
    }

    /** Kills the process at once (SIGKILL): whatever leases it held, it never gives back itself. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }

    private static BufferedReader reader(java.io.InputStream in) {
        return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    }

    private static void daemon(Runnable body) {
        Thread thread = new Thread(body, "engine-process-reader");
        thread.setDaemon(true);
        thread.start();
    }
}
