package io.weightpub.sink.internal;

import org.apache.flink.annotation.Internal;

import java.util.Objects;

/**
 * A verified publish of one worker waiting to become active when its checkpoint completes.
 * Metadata only: the bytes stay in the worker's shadow slot. {@code origin} says how its bytes got
 * there when not by staging its chunks (a rollback by resident flip or by replay), else "".
 */
@Internal
public record FlipCommittable(
        int worker, String modelId, String publishId, long version, long contentVersion, long step,
        long versionBytes, long stagedAtMillis, String origin) {

    public FlipCommittable {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(publishId, "publishId");
        Objects.requireNonNull(origin, "origin");
    }
}
