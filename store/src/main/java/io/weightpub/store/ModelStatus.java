package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** A snapshot of one model in a weight store: its active version, staged publishes and last error. */
@PublicEvolving
public record ModelStatus(String modelId, Optional<VersionInfo> active, List<StagedPublish> staged,
        Optional<String> lastError) {

    public ModelStatus {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(active, "active");
        staged = List.copyOf(staged);
        Objects.requireNonNull(lastError, "lastError");
    }
}
