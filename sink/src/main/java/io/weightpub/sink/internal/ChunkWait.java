package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.sink.internal.InFlightPublishes.ModelTrack;

import java.util.function.LongSupplier;

/**
 * When a commit waits for chunks. The job's checkers send chunks to the workers on other channels
 * than the coordinator's commit, so a commit may come before the last chunks of its publish. Then
 * it is held, and retried as chunks arrive, until the next checkpoint barrier: every chunk the
 * coordinator counted before emitting the commit was sent before that barrier on its channel, and
 * barriers are aligned, so at the barrier nothing more will come through the job. What is still
 * missing then is re-read from Kafka by the version's offsets, or the version fails here; it never
 * waits forever and never flips bytes it does not hold.
 */
final class ChunkWait {

    private ChunkWait() {}

    /**
     * Whether {@code commit} (of a new version, not a rollback) should wait for chunks still in
     * flight: its publish is staging here, with no chunk known to be missed, and its staged bytes do
     * not yet cover the version; or none of its chunks came yet. Never at a barrier.
     */
    static boolean waiting(ModelTrack track, WeightEvent commit, boolean atBarrier, LongSupplier activeVersion) {
        if (atBarrier || commit.kind() != WeightEvent.Kind.COMMIT_VERSION
                || commit.contentVersion() != commit.version()) {
            return false;
        }
        StagingProgress progress = track.inFlight.get(commit.publishId());
        if (progress == null) {
            // Not one chunk came yet; unless the publish ended here or the version is already active here
            // (a commit replayed after a restore).
            return commit.versionBytes() > 0 && !track.finished.contains(commit.publishId())
                    && activeVersion.getAsLong() < commit.version();
        }
        return !progress.deferred && progress.lost == null && !progress.whole && progress.committable == null
                && progress.missedChunks == 0 && !progress.missedUnknown
                && !progress.stagedBytes.covers(0, progress.versionBytes);
    }

    /**
     * A commit that stopped waiting (at a barrier) for a publish whose bytes are not all staged and
     * not explained by chunks it knows it missed: every chunk of the version is re-read from Kafka.
     */
    static void rereadMissing(StagingProgress progress) {
        if (!progress.deferred && progress.lost == null && !progress.whole && progress.missedChunks == 0
                && !progress.stagedBytes.covers(0, progress.versionBytes)) {
            progress.missedUnknown = true;
        }
    }
}
