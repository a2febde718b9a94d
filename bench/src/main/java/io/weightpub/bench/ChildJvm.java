package io.weightpub.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs a main class in a fresh JVM with this JVM's classpath and java binary (its {@code java.home},
 * so a jlink'ed runtime of the GPU bundle starts its children with itself), so every contender of a
 * comparison (Kafka's perf tools, the job) starts equally cold and has its own heap.
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

    /** A started child: its output so far, its stdin, and a wait for its end. */
    public static final class Running implements AutoCloseable {
        private final String mainClass;
        private final Process process;
        private final Thread reader;
        private final List<String> lines = new ArrayList<>();

        private Running(String mainClass, Process process, Consumer<String> echo) {
            this.mainClass = mainClass;
            this.process = process;
            this.reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        synchronized (lines) {
                            lines.add(line);
                            lines.notifyAll();
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
        }

        public long pid() {
            return process.pid();
        }

        public boolean isAlive() {
            return process.isAlive();
        }

        /** Lines printed so far. */
        public List<String> lines() {
            synchronized (lines) {
                return List.copyOf(lines);
            }
        }

        /** Blocks until a line starting with {@code prefix} appears at or after index {@code from}. */
        public String awaitLine(String prefix, int from, long timeoutMillis) throws IOException, InterruptedException {
            long deadline = System.currentTimeMillis() + timeoutMillis;
            synchronized (lines) {
                while (true) {
                    for (int i = from; i < lines.size(); i++) {
                        if (lines.get(i).startsWith(prefix)) {
                            return lines.get(i).substring(prefix.length());
                        }
                    }
                    long left = deadline - System.currentTimeMillis();
                    if (left <= 0 || (!process.isAlive() && !reader.isAlive())) {
                        throw new IOException(mainClass + " printed no '" + prefix + "' line "
                                + (process.isAlive() ? "within " + timeoutMillis + " ms" : "before it ended")
                                + "; last output:\n" + new Outcome(-1, lines).tail(30));
                    }
                    lines.wait(Math.min(left, 200));
                }
            }
        }

        public void send(String line) throws IOException {
            OutputStream in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        }

        public Outcome await(long timeoutSeconds) throws IOException, InterruptedException {
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor();
                reader.join(2000);
                throw new IOException(mainClass + " ran past " + timeoutSeconds + " s; last output:\n"
                        + new Outcome(-1, lines()).tail(20));
            }
            reader.join(5000);
            return new Outcome(process.exitValue(), lines());
        }

        /** Asks the process to end (TERM), and kills it if it has not within {@code graceSeconds}. */
        public void stop(long graceSeconds) {
            process.destroy();
            try {
                if (!process.waitFor(graceSeconds, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(30, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }

    private ChildJvm() {}

    public static String javaBinary() {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        return Files.isExecutable(java) ? java.toString() : ProcessHandle.current().info().command().orElse("java");
    }

    public static Running start(String mainClass, List<String> jvmArgs, List<String> args, Consumer<String> echo)
            throws IOException {
        List<String> command = new ArrayList<>();
        command.add(javaBinary());
        command.addAll(jvmArgs);
        command.add("-Djava.awt.headless=true");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(args);
        return new Running(mainClass, new ProcessBuilder(command).redirectErrorStream(true).start(), echo);
    }

    public static Outcome run(String mainClass, List<String> jvmArgs, List<String> args, long timeoutSeconds,
            Consumer<String> echo) throws IOException, InterruptedException {
        return start(mainClass, jvmArgs, args, echo).await(timeoutSeconds);
    }
}
