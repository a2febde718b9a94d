package io.weightpub.e2e.testutils;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs commands as a user of the repository would: {@code bin/weightpub ...}, or a bash line (a
 * recipe copied from the docs) in the repository root. Output (standard output and error) goes to
 * a file in the work folder: reading a pipe to its end would block until the process exits, and a
 * hung command would never reach the timeout.
 */
public final class WeightpubCli {

    private final Path work;
    private final Duration timeout;

    public WeightpubCli(Path work, Duration timeout) {
        this.work = work;
        this.timeout = timeout;
    }

    /** {@code bin/weightpub args}; returns its output, fails when it exits non-zero. */
    public String weightpub(String... args) {
        List<String> command = new ArrayList<>(List.of("bash", "bin/weightpub"));
        command.addAll(List.of(args));
        return exec("weightpub-" + args[0], command, Map.of());
    }

    /** {@code bash -c line} with {@code env} added to the environment; returns its output. */
    public String bash(String line, Map<String, String> env) {
        return exec("bash", List.of("bash", "-c", "set -euo pipefail; " + line), env);
    }

    private String exec(String name, List<String> command, Map<String, String> env) {
        try {
            Path log = Files.createTempFile(work, name + "-", ".out");
            ProcessBuilder builder = new ProcessBuilder(command)
                    .directory(ClusterScripts.repoRoot().toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            builder.environment().putAll(env);
            Process process = builder.start();
            boolean exited = process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS);
            if (!exited) {
                process.destroyForcibly().waitFor();
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            if (!exited || process.exitValue() != 0) {
                throw new AssertionError(String.join(" ", command)
                        + (exited ? " failed" : " did not finish within " + timeout) + ":\n" + output);
            }
            return output;
        } catch (IOException e) {
            throw new AssertionError("could not run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + command, e);
        }
    }
}
