package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

/**
 * A publish could not get a slot: the memory for it could not be allocated (off-heap memory or
 * {@code cuMemAlloc} failed) or, as {@link MemoryBudgetExceededException}, it would exceed a memory
 * budget. Thrown by {@link WeightStore#stage} before the publish is staged; the store keeps every
 * staged, active and resident version it had, so the next publish that fits stages as usual. The
 * publish cannot be staged on this worker as it is: report it failed, do not retry it.
 */
@PublicEvolving
public class SlotAllocationException extends RuntimeException {

    private final String modelId;
    private final String publishId;
    private final long versionBytes;

    public SlotAllocationException(String modelId, String publishId, long versionBytes, String message,
            Throwable cause) {
        super(message, cause);
        this.modelId = modelId;
        this.publishId = publishId;
        this.versionBytes = versionBytes;
    }

    public String modelId() {
        return modelId;
    }

    public String publishId() {
        return publishId;
    }

    /** The size the publish announced. */
    public long versionBytes() {
        return versionBytes;
    }
}
