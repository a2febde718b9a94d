package io.weightpub.ops;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** The version index as read from the versions topic: the latest entry per model and version. */
@PublicEvolving
public final class VersionIndex {

    private final String topic;
    private final List<IndexedVersion> versions;
    private final List<SkippedRecord> skipped;

    VersionIndex(String topic, List<IndexedVersion> versions, List<SkippedRecord> skipped) {
        this.topic = topic;
        this.versions = versions.stream()
                .sorted(Comparator.comparing(IndexedVersion::modelId).thenComparingLong(IndexedVersion::version))
                .toList();
        this.skipped = List.copyOf(skipped);
    }

    /** The topic it was read from. */
    public String topic() {
        return topic;
    }

    /** Every version, by model, then version. */
    public List<IndexedVersion> versions() {
        return versions;
    }

    public List<IndexedVersion> versions(String modelId) {
        return versions.stream().filter(v -> v.modelId().equals(modelId)).toList();
    }

    public Optional<IndexedVersion> find(String modelId, long version) {
        return versions.stream().filter(v -> v.modelId().equals(modelId) && v.version() == version).findFirst();
    }

    public Optional<IndexedVersion> latest(String modelId) {
        return versions.stream().filter(v -> v.modelId().equals(modelId)).reduce((a, b) -> b);
    }

    /** Records of the topic that could not be read into the index. */
    public List<SkippedRecord> skipped() {
        return skipped;
    }

    /**
     * The entry a rollback of {@code modelId} to {@code version} would restore; an
     * {@link OpsException} when the index does not know the version or its chunks are gone.
     */
    public IndexedVersion requireRollbackTarget(String modelId, long version) {
        IndexedVersion target = find(modelId, version).orElseThrow(() -> new OpsException(
                "model " + modelId + " has no version " + version + " in " + topic + "; "
                        + known(modelId)));
        if (!target.retained()) {
            throw new OpsException("version " + version + " of model " + modelId
                    + " is no longer retained, a rollback to it cannot be served: " + String.join("; ", target.evicted())
                    + ". Retained versions: " + retainedList(modelId));
        }
        return target;
    }

    private String known(String modelId) {
        List<IndexedVersion> ofModel = versions(modelId);
        if (ofModel.isEmpty()) {
            return "the index has no versions of that model"
                    + (versions.isEmpty() ? "" : " (models: " + versions.stream().map(IndexedVersion::modelId)
                            .distinct().collect(Collectors.joining(", ")) + ")");
        }
        return "known versions: " + ofModel.stream().map(v -> String.valueOf(v.version()))
                .collect(Collectors.joining(", "));
    }

    private String retainedList(String modelId) {
        String retained = versions(modelId).stream().filter(IndexedVersion::retained)
                .map(v -> String.valueOf(v.version())).collect(Collectors.joining(", "));
        return retained.isEmpty() ? "none" : retained;
    }
}
