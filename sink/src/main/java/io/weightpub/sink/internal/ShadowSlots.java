package io.weightpub.sink.internal;

import io.weightpub.schemas.VersionState;
import io.weightpub.sink.internal.InFlightPublishes.ModelTrack;
import io.weightpub.store.SlotAllocationException;
import io.weightpub.store.SlotsExhaustedException;
import io.weightpub.store.StagedPublish;
import io.weightpub.store.WeightStore;

import java.util.Optional;

/**
 * How a sink writer gets shadow slots for publishes: it may supersede a publish still staging,
 * never one that verified and waits for its checkpoint (that would flip before its checkpoint
 * completed, or drop a version the job committed); then the new publish is deferred. A publish the
 * store refuses a slot (over a memory budget, or its memory could not be allocated) is lost here.
 */
final class ShadowSlots {

    private final WorkerRuntime runtime;
    private final WeightStore store;

    ShadowSlots(WorkerRuntime runtime) {
        this.runtime = runtime;
        this.store = runtime.store();
    }

    /**
     * Claims a shadow slot. When every shadow slot holds another publish, one still staging is
     * superseded (its commit re-reads it from Kafka); a verified publish waiting for its checkpoint
     * is never flipped nor dropped for it: then there is no slot now (false). The decision depends
     * only on the position in the stream and the flips so far, never on timing within a worker.
     *
     * @throws SlotAllocationException when the store refuses the publish a slot; the store is as it was
     */
    boolean claim(ModelTrack track, StagingProgress progress) {
        while (true) {
            try {
                store.stage(progress.modelId, progress.publishId, progress.step, progress.versionBytes);
                return true;
            } catch (SlotsExhaustedException e) {
                Optional<StagedPublish> staging = e.holders().stream()
                        .filter(h -> !h.publishId().equals(progress.publishId))
                        .filter(h -> {
                            StagingProgress held = track.inFlight.get(h.publishId());
                            return held == null || held.committable == null;
                        })
                        .findFirst();
                if (staging.isEmpty() || !supersede(track, staging.get(), progress.publishId)) {
                    return false;
                }
            }
        }
    }

    /**
     * Claims a slot for a publish arriving live: false when it is deferred; a publish the store refuses
     * is {@linkplain #refuse refused} (true: it waits for nothing any more).
     */
    boolean claimLive(ModelTrack track, StagingProgress progress) {
        try {
            return claim(track, progress);
        } catch (SlotAllocationException e) {
            refuse(progress, e);
            return true;
        }
    }

    /**
     * Marks a publish the store cannot give a slot as lost: its later chunks are skipped and its commit
     * fails with this reason. Trying again on each chunk would fail alike, and throwing out of the
     * writer would restart the task on the same record forever.
     */
    private void refuse(StagingProgress progress, SlotAllocationException e) {
        progress.deferred = false;
        progress.lost = "no slot for its " + progress.versionBytes + " bytes: " + e.getMessage();
        String message = "publish " + progress.publishId + " of model " + progress.modelId + " (step "
                + progress.step + ") refused: " + progress.lost + "; its chunks are skipped and its commit fails";
        store.recordError(progress.modelId, message);
        runtime.reporter().report(VersionState.FAILED, progress.modelId, -1, -1, progress.step, progress.publishId,
                progress.versionBytes, 0, message);
    }

    private boolean supersede(ModelTrack track, StagedPublish holder, String newPublish) {
        track.inFlight.remove(holder.publishId());
        boolean aborted = store.abort(holder.modelId(), holder.publishId());
        track.finish(holder.publishId());
        runtime.reporter().report(VersionState.ABORTED, holder.modelId(), -1, -1, holder.step(),
                holder.publishId(), holder.bytesWritten(), 0, "superseded by publish " + newPublish + " while "
                        + (holder.verified() ? "verified" : "still staging") + ": no free slot (raise slots per "
                        + "model to keep it); if it commits, its bytes are re-read from Kafka");
        return aborted;
    }

    /**
     * Claims a slot for a deferred publish once no flip waits any more (the committer flipped the
     * holder); the chunks it missed are re-read from Kafka at its commit. True when it is no longer
     * deferred: staged, or refused by the store.
     */
    boolean claimLate(ModelTrack track, StagingProgress progress) {
        if (track.waitingForCheckpoint(store.status(progress.modelId)).isPresent() || !claimLive(track, progress)) {
            return false;
        }
        if (progress.lost != null) {
            return true;
        }
        progress.deferred = false;
        runtime.reporter().report(VersionState.STAGED, progress.modelId, -1, -1, progress.step, progress.publishId,
                progress.versionBytes, 0, "a slot is free now: staging the rest; the " + progress.missedChunks
                        + " chunk(s) that came before are re-read from Kafka at its commit");
        return true;
    }
}
