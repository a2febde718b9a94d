package io.weightpub.ops;

import org.apache.flink.annotation.PublicEvolving;

/**
 * An operation that cannot be done as asked: a missing topic, an unknown or no longer retained
 * version, a job that reported a failure, a wait that ran out. The message says what is wrong and
 * what was expected; the command line prints it without a stack trace.
 */
@PublicEvolving
public class OpsException extends RuntimeException {

    public OpsException(String message) {
        super(message);
    }

    public OpsException(String message, Throwable cause) {
        super(message, cause);
    }
}
