package io.weightpub.job.testutils;

import io.weightpub.events.WeightEvent;

/**
 * Passes events through, and fails the task once: at the first chunk of {@code publishId} that
 * arrives after a checkpoint holding that publish half-staged completed, so the job restarts from it.
 */
public final class FailOnceAfterCheckpoint extends ArmedByHoldingCheckpoint {

    private static final long serialVersionUID = 1L;
    private static final Arming ARMING = new Arming();

    private final String publishId;

    public FailOnceAfterCheckpoint(String publishId) {
        super(publishId);
        this.publishId = publishId;
    }

    /** True once a checkpoint holding the publish in flight completed. */
    public static boolean armed() {
        return ARMING.armed();
    }

    public static boolean failed() {
        return ARMING.fired();
    }

    @Override
    protected Arming arming() {
        return ARMING;
    }

    @Override
    protected WeightEvent injectOrPass(WeightEvent event) {
        if (event.kind() == WeightEvent.Kind.STAGE_CHUNK && event.publishId().equals(publishId) && ARMING.fire()) {
            throw new IllegalStateException("injected failure at chunk " + event.chunkIndex() + " of bucket "
                    + event.bucketIndex() + " of publish " + publishId);
        }
        return event;
    }
}
