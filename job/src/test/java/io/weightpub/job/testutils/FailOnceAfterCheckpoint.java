package io.weightpub.job.testutils;

import io.weightpub.sink.WeightEvent;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.state.CheckpointListener;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Passes events through, and fails the task once: at the first chunk of {@code publishId} that
 * arrives after a checkpoint completed while that publish was in flight, so the job restarts from
 * a checkpoint that holds the publish half-staged. State is static: the MiniCluster runs in this
 * JVM, and the failure must happen only once across restarts.
 */
public final class FailOnceAfterCheckpoint implements MapFunction<WeightEvent, WeightEvent>, CheckpointListener {

    private static final long serialVersionUID = 1L;
    private static final AtomicBoolean SEEN = new AtomicBoolean();
    private static final AtomicBoolean ARMED = new AtomicBoolean();
    private static final AtomicBoolean FAILED = new AtomicBoolean();

    private final String publishId;

    public FailOnceAfterCheckpoint(String publishId) {
        this.publishId = publishId;
        SEEN.set(false);
        ARMED.set(false);
        FAILED.set(false);
    }

    /** True once a checkpoint holding the publish in flight completed. */
    public static boolean armed() {
        return ARMED.get();
    }

    public static boolean failed() {
        return FAILED.get();
    }

    @Override
    public WeightEvent map(WeightEvent event) {
        if (event.kind() == WeightEvent.Kind.STAGE_CHUNK && event.publishId().equals(publishId)) {
            SEEN.set(true);
            if (ARMED.get() && FAILED.compareAndSet(false, true)) {
                throw new IllegalStateException("injected failure at chunk " + event.chunkIndex() + " of bucket "
                        + event.bucketIndex() + " of publish " + publishId);
            }
        }
        return event;
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        if (SEEN.get()) {
            ARMED.set(true);
        }
    }
}
