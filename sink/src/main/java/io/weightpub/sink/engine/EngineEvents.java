package io.weightpub.sink.engine;

import io.weightpub.store.VersionInfo;
import org.apache.flink.annotation.Internal;

/** What engine processes tell a worker's {@link EngineServer}; the worker reports it to the status topic. */
@Internal
public interface EngineEvents {

    /** Engine {@code engine} serves {@code version} now; applying it took {@code millis}. */
    void applied(String engine, VersionInfo version, long millis);

    /** Engine {@code engine} could not apply {@code version} and keeps what it served before. */
    void failed(String engine, VersionInfo version, long millis, String message);

    /** The lease of {@code engine} on {@code version} ran out and was taken back. */
    void revoked(String engine, VersionInfo version, String reason);
}
