package io.weightpub.ops;

import io.weightpub.schemas.VersionState;
import org.apache.flink.annotation.PublicEvolving;

/**
 * Where one worker of a model stands, from the status topic. Worker -1 is the job itself.
 *
 * @param state          the state of the worker's latest record, with its version, publish, time and message
 * @param activeVersion  workers: the version of the latest COMMITTED or ACTIVE record; the job: the
 *                       latest COMPLETED version; -1 when none was seen
 * @param activeContentVersion the version whose bytes {@code activeVersion} carries; -1 when none
 * @param stagedPublish  the publish a worker has staged but not committed yet (its latest record is
 *                       STAGED or VERIFIED); empty otherwise
 * @param lastError      the message of the latest FAILED record; empty when none was seen
 * @param lastErrorAtMs  when that was; -1 when none
 */
@PublicEvolving
public record WorkerState(
        String modelId,
        int worker,
        VersionState state,
        long version,
        long contentVersion,
        long step,
        String publishId,
        long timestampMs,
        String message,
        long activeVersion,
        long activeContentVersion,
        String stagedPublish,
        String lastError,
        long lastErrorAtMs) {

    public static final int JOB = -1;

    public boolean isJob() {
        return worker == JOB;
    }
}
