package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Objects;

/** Identity of a committed version of a model. */
@PublicEvolving
public record VersionInfo(
        String modelId, String publishId, long version, long contentVersion, long step, long sizeBytes,
        long activatedAtMillis) {

    public VersionInfo {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(publishId, "publishId");
    }
}
