package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

import java.util.List;

/**
 * Every slot of a model other than the active one holds another staged publish, so a new publish
 * has nowhere to stage until one of those is committed or aborted.
 */
@PublicEvolving
public final class SlotsExhaustedException extends Exception {

    private final List<StagedPublish> holders;

    public SlotsExhaustedException(String message, List<StagedPublish> holders) {
        super(message);
        this.holders = List.copyOf(holders);
    }

    /** The publishes that hold the shadow slots, oldest first. */
    public List<StagedPublish> holders() {
        return holders;
    }
}
