package io.weightpub.publisher;

import org.apache.flink.annotation.PublicEvolving;

/**
 * A publish that did not complete: the manifest was not sent (so consumers never apply the
 * partial version), and in transactional mode the transaction was aborted.
 */
@PublicEvolving
public final class PublishException extends RuntimeException {

    private final String modelId;
    private final long step;
    private final String publishId;

    public PublishException(String modelId, long step, String publishId, String message, Throwable cause) {
        super("publish " + publishId + " of model " + modelId + " step " + step + " failed: " + message, cause);
        this.modelId = modelId;
        this.step = step;
        this.publishId = publishId;
    }

    public String modelId() {
        return modelId;
    }

    public long step() {
        return step;
    }

    public String publishId() {
        return publishId;
    }
}
