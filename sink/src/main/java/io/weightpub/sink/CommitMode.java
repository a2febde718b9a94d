package io.weightpub.sink;

import org.apache.flink.annotation.PublicEvolving;

/** When a verified version becomes active. */
@PublicEvolving
public enum CommitMode {
    /**
     * Flip when the checkpoint that contains the version's commit completes: every worker flips on
     * the same checkpoint, so the fleet moves together. Needs checkpointing enabled.
     */
    ON_CHECKPOINT,
    /** Flip as soon as the version verifies, per worker: lowest latency, workers may differ briefly. */
    IMMEDIATE
}
