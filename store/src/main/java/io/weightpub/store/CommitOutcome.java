package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

/** What {@link WeightStore#commit} did. Commits are idempotent; only {@link #FLIPPED} changed anything. */
@PublicEvolving
public enum CommitOutcome {
    /** The publish is now the active version. */
    FLIPPED,
    /** This very version was already active (a repeated commit). */
    ALREADY_ACTIVE,
    /** A newer version is active; the publish stays inactive and its slot was released. */
    STALE,
    /** No such publish is staged (never staged, aborted, or lost). */
    NOT_STAGED,
    /** The publish is staged but has not passed {@link WeightStore#verify}. */
    NOT_VERIFIED
}
