package io.weightpub.publisher;

import org.apache.flink.annotation.PublicEvolving;

/**
 * Told how a publish advances, on the publishing thread, after each chunk is handed to the
 * producer and once more when the version is committed. An exception thrown here aborts the
 * publish (in transactional mode nothing of it becomes visible), so keep it quick and safe.
 */
@FunctionalInterface
@PublicEvolving
public interface PublishProgressListener {

    PublishProgressListener NONE = progress -> { };

    void onProgress(PublishProgress progress);

    /** Called once the manifest is sent and acknowledged (and the transaction committed). */
    default void onComplete(PublishResult result) {
    }
}
