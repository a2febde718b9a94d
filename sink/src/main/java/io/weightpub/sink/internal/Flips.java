package io.weightpub.sink.internal;

import io.weightpub.schemas.VersionState;
import io.weightpub.store.CommitOutcome;
import io.weightpub.store.VersionInfo;

import java.util.Optional;

/** Commits a verified publish on a worker and reports what happened; shared by the committer and the writer. */
final class Flips {

    private Flips() {}

    static CommitOutcome flip(WorkerRuntime runtime, FlipCommittable c, String how) {
        long start = System.nanoTime();
        CommitOutcome outcome = runtime.store()
                .commit(c.modelId(), c.publishId(), c.version(), c.contentVersion());
        long flipMicros = (System.nanoTime() - start) / 1000;
        switch (outcome) {
            case FLIPPED -> runtime.reporter().report(VersionState.COMMITTED, c.modelId(), c.version(),
                    c.contentVersion(), c.step(), c.publishId(), c.versionBytes(),
                    Math.max(0, System.currentTimeMillis() - c.stagedAtMillis()),
                    c.origin().isEmpty()
                            ? "active (" + how + "; flip took " + flipMicros + " us; duration counts from the first "
                                    + "chunk)"
                            : "active: " + c.origin() + " (" + how + "; flip took " + flipMicros + " us)");
            case ALREADY_ACTIVE -> {
                // A repeated commit (e.g. after a restore): nothing to do.
            }
            case STALE -> {
                Optional<VersionInfo> active = runtime.store().status(c.modelId()).active();
                runtime.reporter().report(VersionState.ABORTED, c.modelId(), c.version(), c.contentVersion(), c.step(),
                        c.publishId(), c.versionBytes(), 0, "not activated: version "
                                + active.map(VersionInfo::version).orElse(-1L) + " is already active");
            }
            case NOT_STAGED, NOT_VERIFIED -> {
                String message = "version " + c.version() + " (publish " + c.publishId() + ") of model " + c.modelId()
                        + " cannot become active on worker " + c.worker() + ": its bytes are "
                        + (outcome == CommitOutcome.NOT_STAGED
                                ? "not resident (lost with a restart; they must be re-read from Kafka)"
                                : "staged but not verified");
                runtime.store().recordError(c.modelId(), message);
                runtime.reporter().report(VersionState.FAILED, c.modelId(), c.version(), c.contentVersion(), c.step(),
                        c.publishId(), c.versionBytes(), 0, message);
            }
        }
        return outcome;
    }
}
