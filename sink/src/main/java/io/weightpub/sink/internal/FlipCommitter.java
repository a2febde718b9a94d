package io.weightpub.sink.internal;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.connector.sink2.Committer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.Optional;

/**
 * Flips verified publishes when their checkpoint completes. Every worker receives the same
 * committables at the same checkpoint, so the fleet moves together. Commits are idempotent, so
 * committables replayed after a restore do nothing; a commit never fails the job: a version that
 * cannot become active is reported FAILED.
 */
@Internal
public final class FlipCommitter implements Committer<FlipCommittable> {

    private static final Logger LOG = LoggerFactory.getLogger(FlipCommitter.class);

    private final String sinkName;

    public FlipCommitter(String sinkName) {
        this.sinkName = sinkName;
    }

    @Override
    public void commit(Collection<CommitRequest<FlipCommittable>> requests) {
        for (CommitRequest<FlipCommittable> request : requests) {
            FlipCommittable c = request.getCommittable();
            Optional<WorkerRuntime> runtime = WorkerRegistry.get(sinkName, c.worker());
            if (runtime.isEmpty()) {
                LOG.error("sink {}: worker {} has no store in this JVM; version {} (publish {}) of model {} is not "
                        + "activated here", sinkName, c.worker(), c.version(), c.publishId(), c.modelId());
            } else {
                Flips.flip(runtime.get(), c, "checkpoint completed");
            }
        }
    }

    @Override
    public void close() {
        // The worker runtime outlives the committer.
    }
}
