package io.weightpub.job.assembly;

import io.weightpub.schemas.VersionState;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per model: the last published version and trainer step, and how recent publishes ended, so that
 * duplicates and stale republishes are recognised after their progress is gone.
 */
final class ModelLedger {

    /** How a publish ended. */
    static final class Outcome {
        final VersionState state;
        final long version;
        final String reason;

        Outcome(VersionState state, long version, String reason) {
            this.state = state;
            this.version = version;
            this.reason = reason;
        }
    }

    static final int REMEMBERED_OUTCOMES = 1024;

    long lastVersion;
    long lastStep;
    final LinkedHashMap<String, Outcome> outcomes;

    ModelLedger() {
        this(0, Long.MIN_VALUE, new LinkedHashMap<>());
    }

    ModelLedger(long lastVersion, long lastStep, LinkedHashMap<String, Outcome> outcomes) {
        this.lastVersion = lastVersion;
        this.lastStep = lastStep;
        this.outcomes = outcomes;
    }

    Outcome outcomeOf(String publishId) {
        return outcomes.get(publishId);
    }

    /** Longest reason kept: reasons quote record fields, whose size a record chooses. */
    static final int MAX_REASON_CHARS = 1024;

    void close(String publishId, VersionState state, long version, String reason) {
        if (publishId.length() > PublishChecks.MAX_PUBLISH_ID_CHARS) {
            return; // never a valid publish: each of its records is judged, and quarantined, on its own
        }
        outcomes.remove(publishId);
        outcomes.put(publishId, new Outcome(state, version,
                reason.length() > MAX_REASON_CHARS ? reason.substring(0, MAX_REASON_CHARS) + "..." : reason));
        Iterator<Map.Entry<String, Outcome>> oldest = outcomes.entrySet().iterator();
        while (outcomes.size() > REMEMBERED_OUTCOMES && oldest.hasNext()) {
            oldest.next();
            oldest.remove();
        }
    }

    boolean hasPublished() {
        return lastVersion > 0;
    }
}
