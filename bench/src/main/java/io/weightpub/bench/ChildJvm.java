package io.weightpub.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs a main class in a fresh JVM with this JVM's classpath (and java binary), so every contender
 * of a comparison (Kafka's perf tools, the Flink floor, the job) starts equally cold and has its own
 * heap.
 */
public final class ChildJvm {

    /** What a child printed and how it ended. */
    public record Outcome(int exitCode, List<String> lines) {

        /** The last line starting with {@code prefix}, without it. */
        public java.util.Optional<String> last(String prefix) {
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).startsWith(prefix)) {
                    return java.util.Optional.of(lines.get(i).substring(prefix.length()));
                }
            }
            return java.util.Optional.empty();
        }

        public String tail(int n) {
            return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        }
    }

    private ChildJvm() {}

    public static String javaBinary() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    public static Outcome run(String mainClass, List<String> jvmArgs, List<String> args, long timeoutSeconds,
            Consumer<String> echo) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(javaBinary());
        command.addAll(jvmArgs);
        command.add("-Djava.awt.headless=true");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(args);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (lines) {
                        lines.add(line);
                    }
                    if (echo != null) {
                        echo.accept(line);
                    }
                }
            } catch (IOException e) {
                // the process went away
            }
        }, "child-output");
        reader.setDaemon(true);
        reader.start();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
            reader.join(2000);
            throw new IOException(mainClass + " " + args + " ran past " + timeoutSeconds + " s; last output:\n"
                    + new Outcome(-1, lines).tail(20));
        }
        reader.join(5000);
        synchronized (lines) {
            return new Outcome(process.exitValue(), List.copyOf(lines));
        }
    }
}
