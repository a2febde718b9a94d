package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.store.ModelStatus;
import io.weightpub.store.VersionInfo;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A sink writer's bookkeeping per model: publishes in flight, publishes finished here (so chunks
 * re-sent after a restore are ignored), what is known about versions committed here, and commit
 * events held back until what they wait for has happened. Metadata only.
 */
final class InFlightPublishes {

    /** Finished publishes remembered per model, so that chunks re-sent after a restore are ignored. */
    private static final int FINISHED_MEMORY = 64;

    private final Map<String, ModelTrack> models = new HashMap<>();

    ModelTrack track(String modelId) {
        return models.computeIfAbsent(modelId, ModelTrack::new);
    }

    Collection<ModelTrack> tracks() {
        return models.values();
    }

    /** One model's publishes. */
    static final class ModelTrack {
        final String modelId;
        final Map<String, StagingProgress> inFlight = new LinkedHashMap<>();
        final Set<String> finished = new LinkedHashSet<>();
        /** Location and manifest of versions committed here by version, until the active version passes them. */
        final TreeMap<Long, CommittedMeta> committedMeta = new TreeMap<>();
        /** Commit events held back, in the order they came: each waits for the ones before it. */
        final Deque<WeightEvent> held = new ArrayDeque<>();
        WriterState.CommittedVersion lastCommitted;

        ModelTrack(String modelId) {
            this.modelId = modelId;
        }

        void finish(String publishId) {
            finished.add(publishId);
            if (finished.size() > FINISHED_MEMORY) {
                finished.remove(finished.iterator().next());
            }
        }

        /**
         * The publish of this model whose committable waits for its checkpoint to complete (it will
         * still change what is active), if any. A committable whose bytes are neither staged nor active
         * can no longer flip and waits for nothing.
         */
        Optional<StagingProgress> waitingForCheckpoint(ModelStatus status) {
            long active = status.active().map(VersionInfo::version).orElse(-1L);
            String activePublish = status.active().map(VersionInfo::publishId).orElse(null);
            Set<String> staged = stagedIds(status);
            return inFlight.values().stream()
                    .filter(p -> p.committable != null && p.committable.version() > active
                            && (staged.contains(p.publishId) || p.publishId.equals(activePublish)))
                    .findFirst();
        }

        /**
         * Forgets publishes that are settled: flipped by the committer (or made stale), or dropped by
         * the store. Publishes whose bytes are lost or deferred stay until their commit or abort.
         */
        void settle(ModelStatus status) {
            Set<String> staged = stagedIds(status);
            long active = status.active().map(VersionInfo::version).orElse(-1L);
            String activePublish = status.active().map(VersionInfo::publishId).orElse(null);
            // A relabel of the active bytes (a rollback to the current content) waits without a staged slot.
            List<String> settled = new ArrayList<>();
            inFlight.values().forEach(p -> {
                if (p.lost == null && !p.deferred && !staged.contains(p.publishId)
                        && !(p.committable != null && p.committable.version() > active
                                && p.publishId.equals(activePublish))) {
                    settled.add(p.publishId);
                }
            });
            // Remembered as finished: late copies of their chunks (from the job's checkers) must not re-open a slot.
            settled.forEach(id -> {
                inFlight.remove(id);
                finish(id);
            });
        }

        private static Set<String> stagedIds(ModelStatus status) {
            Set<String> staged = new LinkedHashSet<>();
            status.staged().forEach(s -> staged.add(s.publishId()));
            return staged;
        }
    }

    /** Where a committed version's chunks are in Kafka (encoded index entry) and its encoded manifest. */
    record CommittedMeta(byte[] location, byte[] manifest) {}
}
