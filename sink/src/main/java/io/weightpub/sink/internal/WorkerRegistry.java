package io.weightpub.sink.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The JVM's worker runtimes by (sink name, worker index). The committer reaches its writer's
 * store through it, and a restarted writer in the same JVM finds its staged and active slots
 * again. Runtimes live until {@link #release} (weights stay served when the job stops).
 */
public final class WorkerRegistry {

    private record Key(String sinkName, int worker) {}

    private static final Map<Key, WorkerRuntime> RUNTIMES = new ConcurrentHashMap<>();

    private WorkerRegistry() {}

    /** The existing runtime, and whether it had to be created now. */
    public record Obtained(WorkerRuntime runtime, boolean created) {}

    static Obtained obtain(String sinkName, int worker, Supplier<WorkerRuntime> create) {
        boolean[] created = new boolean[1];
        WorkerRuntime runtime = RUNTIMES.computeIfAbsent(new Key(sinkName, worker), k -> {
            created[0] = true;
            return create.get();
        });
        return new Obtained(runtime, created[0]);
    }

    public static Optional<WorkerRuntime> get(String sinkName, int worker) {
        return Optional.ofNullable(RUNTIMES.get(new Key(sinkName, worker)));
    }

    /** Closes and forgets worker {@code worker}'s runtime of the sink (its process is gone); false if none. */
    static boolean release(String sinkName, int worker) {
        WorkerRuntime runtime = RUNTIMES.remove(new Key(sinkName, worker));
        if (runtime != null) {
            runtime.close();
        }
        return runtime != null;
    }

    /** Closes and forgets every worker runtime of the sink; returns how many there were. */
    public static int release(String sinkName) {
        List<WorkerRuntime> released = new ArrayList<>();
        RUNTIMES.entrySet().removeIf(entry -> {
            if (entry.getKey().sinkName().equals(sinkName)) {
                released.add(entry.getValue());
                return true;
            }
            return false;
        });
        released.forEach(WorkerRuntime::close);
        return released.size();
    }
}
