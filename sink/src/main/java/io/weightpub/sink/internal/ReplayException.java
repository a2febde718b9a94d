package io.weightpub.sink.internal;

import org.apache.flink.annotation.Internal;

/**
 * A version's bytes could not be re-read from Kafka: records deleted by retention, not yet
 * readable, corrupt, missing, or the broker did not answer in time. The message names the model,
 * the publish and the Kafka coordinates.
 */
@Internal
public final class ReplayException extends Exception {

    private static final long serialVersionUID = 1L;

    ReplayException(String message) {
        super(message);
    }

    ReplayException(String message, Throwable cause) {
        super(message, cause);
    }
}
