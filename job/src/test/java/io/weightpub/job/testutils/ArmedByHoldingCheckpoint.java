package io.weightpub.job.testutils;

import io.weightpub.events.WeightEvent;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A pass-through fault injector that arms once a checkpoint completed whose barrier followed a chunk
 * of {@code publishId}: a restart after the fault then starts from a checkpoint holding the publish
 * half-staged. A checkpoint that merely completed while the publish was in flight is not enough: its
 * barrier may have been ahead of the publish's first chunk.
 */
public abstract class ArmedByHoldingCheckpoint
        implements MapFunction<WeightEvent, WeightEvent>, CheckpointedFunction, CheckpointListener {

    private static final long serialVersionUID = 1L;

    private final String publishId;

    protected ArmedByHoldingCheckpoint(String publishId) {
        this.publishId = publishId;
        arming().reset();
    }

    /**
     * The subclass's arming, held in a static field: the MiniCluster runs in the test's JVM, and the
     * fault must happen once across restarts.
     */
    protected abstract Arming arming();

    /** Called for every event once it is accounted for; returns it or injects the fault. */
    protected abstract WeightEvent injectOrPass(WeightEvent event);

    @Override
    public final WeightEvent map(WeightEvent event) {
        if (event.kind() == WeightEvent.Kind.STAGE_CHUNK && event.publishId().equals(publishId)) {
            arming().seen.set(true);
        }
        return injectOrPass(event);
    }

    @Override
    public final void snapshotState(FunctionSnapshotContext context) {
        // Operators after this one in the chain handled every chunk it passed on before this barrier.
        if (arming().seen.get()) {
            arming().holdingCheckpoint.accumulateAndGet(context.getCheckpointId(), Math::min);
        }
    }

    @Override
    public final void initializeState(FunctionInitializationContext context) {
        // Nothing to restore: the arming is static.
    }

    @Override
    public final void notifyCheckpointComplete(long checkpointId) {
        if (checkpointId >= arming().holdingCheckpoint.get()) {
            arming().armed.set(true);
        }
    }

    /** Whether a checkpoint holding the publish in flight completed, and whether the fault happened. */
    public static final class Arming {
        private final AtomicBoolean seen = new AtomicBoolean();
        private final AtomicLong holdingCheckpoint = new AtomicLong(Long.MAX_VALUE);
        private final AtomicBoolean armed = new AtomicBoolean();
        private final AtomicBoolean fired = new AtomicBoolean();

        void reset() {
            seen.set(false);
            holdingCheckpoint.set(Long.MAX_VALUE);
            armed.set(false);
            fired.set(false);
        }

        public boolean armed() {
            return armed.get();
        }

        public boolean fired() {
            return fired.get();
        }

        /** True exactly once, when armed: the caller injects its fault then. */
        public boolean fire() {
            return armed.get() && fired.compareAndSet(false, true);
        }
    }
}
