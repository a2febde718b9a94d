package io.weightpub.ops;

import io.weightpub.schemas.WorkerStatus;
import org.apache.flink.annotation.PublicEvolving;

import java.util.List;
import java.util.OptionalLong;

/**
 * What a {@link Rollback} did.
 *
 * @param newVersion the version the job published with the target's content; empty when the
 *                   rollback did not wait for the job
 * @param workers    the COMMITTED/ACTIVE records of the workers it waited for, by worker; empty
 *                   when it did not wait for workers
 */
@PublicEvolving
public record RollbackResult(
        String modelId, long targetVersion, String requestId, OptionalLong newVersion, List<WorkerStatus> workers) {

    public RollbackResult {
        workers = List.copyOf(workers);
    }
}
