package io.weightpub.store;

import java.util.Objects;

/** A publish that holds a shadow slot: staging, or verified and waiting for its commit. */
public record StagedPublish(
        String modelId, String publishId, long step, long versionBytes, long bytesWritten, boolean verified) {

    public StagedPublish {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(publishId, "publishId");
    }
}
