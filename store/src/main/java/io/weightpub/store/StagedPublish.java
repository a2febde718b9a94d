package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Objects;

/** A publish that holds a shadow slot: staging, or verified and waiting for its commit. */
@PublicEvolving
public record StagedPublish(
        String modelId, String publishId, long step, long versionBytes, long bytesWritten, boolean verified) {

    public StagedPublish {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(publishId, "publishId");
    }
}
