package io.weightpub.sink.internal;

import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The JVM's worker runtimes by (sink name, worker index), each owned by the job that created it.
 * The committer reaches its writer's store through it, and a writer restarted within the same job
 * finds its staged and active slots (and its reference worker's port) again. A runtime lives until
 * its job leaves the TaskManager ({@link #releaseJob}, from the job's classloader release hook), a
 * writer of another job with the same sink name takes its place, or {@link #release}.
 */
@Internal
public final class WorkerRegistry {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerRegistry.class);

    /** The owner of runtimes created outside a Flink job (tests, embedding): reused by any writer. */
    public static final String NO_JOB = "";

    private record Key(String sinkName, int worker) {}

    private record Owned(String jobId, WorkerRuntime runtime) {}

    private static final Map<Key, Owned> RUNTIMES = new ConcurrentHashMap<>();

    private WorkerRegistry() {}

    /** The existing runtime, and whether it had to be created now. */
    public record Obtained(WorkerRuntime runtime, boolean created) {}

    /**
     * The runtime of job {@code jobId}'s worker; one left by another job (cancelled, its release
     * not run yet) is closed first, so that its memory and port are free for this one.
     */
    static Obtained obtain(String sinkName, int worker, String jobId, Supplier<WorkerRuntime> create) {
        boolean[] created = new boolean[1];
        Owned owned = RUNTIMES.compute(new Key(sinkName, worker), (key, old) -> {
            if (old != null && (old.jobId().equals(jobId) || jobId.equals(NO_JOB))) {
                return old;
            }
            if (old != null) {
                LOG.info("sink {} worker {}: job {} takes over from job {}, whose worker is released", sinkName,
                        worker, jobId, old.jobId());
                old.runtime().close();
            }
            created[0] = true;
            return new Owned(jobId, create.get());
        });
        return new Obtained(owned.runtime(), created[0]);
    }

    public static Optional<WorkerRuntime> get(String sinkName, int worker) {
        return Optional.ofNullable(RUNTIMES.get(new Key(sinkName, worker))).map(Owned::runtime);
    }

    /**
     * Closes and forgets the sink's runtimes owned by job {@code jobId}, except those kept after
     * their input ended (a bounded job's weights stay served until {@link #release}); returns how many.
     */
    public static int releaseJob(String sinkName, String jobId) {
        return releaseIf(sinkName, owned -> owned.jobId().equals(jobId) && !owned.runtime().keptAfterInput());
    }

    /** Closes and forgets worker {@code worker}'s runtime of the sink (its process is gone); false if none. */
    static boolean release(String sinkName, int worker) {
        Owned owned = RUNTIMES.remove(new Key(sinkName, worker));
        if (owned != null) {
            owned.runtime().close();
        }
        return owned != null;
    }

    /** Closes and forgets every worker runtime of the sink; returns how many there were. */
    public static int release(String sinkName) {
        return releaseIf(sinkName, owned -> true);
    }

    private static int releaseIf(String sinkName, Predicate<Owned> which) {
        List<WorkerRuntime> released = new ArrayList<>();
        RUNTIMES.entrySet().removeIf(entry -> {
            if (entry.getKey().sinkName().equals(sinkName) && which.test(entry.getValue())) {
                released.add(entry.getValue().runtime());
                return true;
            }
            return false;
        });
        released.forEach(WorkerRuntime::close);
        return released.size();
    }
}
