package io.weightpub.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One Python engine process per worker ({@code python3 -m weightpub.engine}) that maps each active
 * version from the worker's shared memory, checks its digests and acknowledges it: what an
 * inference engine would do, shown in the demo's output. Absent (with the reason said) when there
 * is no python3 or no python/ folder; stopped on close.
 */
final class DemoEngines implements AutoCloseable {

    private final List<Process> processes = new ArrayList<>();

    private DemoEngines() {}

    static DemoEngines start(String socketTemplate, int workers, String model, PrintStream out) {
        DemoEngines engines = new DemoEngines();
        Optional<Path> python = pythonDir();
        if (python.isEmpty() || !Files.isExecutable(Path.of("/usr/bin/python3"))) {
            out.println("  engines   none: the demo needs /usr/bin/python3 and the repository's python/ folder");
            return engines;
        }
        for (int worker = 0; worker < workers; worker++) {
            ProcessBuilder builder = new ProcessBuilder("/usr/bin/python3", "-m", "weightpub.engine", "--socket",
                    socketTemplate.replace("{worker}", Integer.toString(worker)), "--model", model, "--engine",
                    "demo-engine-" + worker).redirectErrorStream(true);
            builder.environment().put("PYTHONPATH", python.get().toString());
            try {
                Process process = builder.start();
                engines.processes.add(process);
                Thread echo = new Thread(() -> echo(process, out), "demo-engine-" + worker);
                echo.setDaemon(true);
                echo.start();
            } catch (IOException e) {
                out.println("  engines   could not start python3: " + e.getMessage());
            }
        }
        out.printf("  engines   %d Python engine processes (weightpub.engine), one per worker, on %s%n",
                engines.processes.size(), socketTemplate);
        return engines;
    }

    private static void echo(Process process, PrintStream out) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                out.println("    " + line);
            }
        } catch (IOException e) {
            // The process was stopped.
        }
    }

    private static Optional<Path> pythonDir() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("python/weightpub/engine"))) {
                return Optional.of(dir.resolve("python"));
            }
        }
        return Optional.empty();
    }

    @Override
    public void close() {
        processes.forEach(Process::destroy);
    }
}
