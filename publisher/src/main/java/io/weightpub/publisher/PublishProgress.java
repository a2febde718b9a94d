package io.weightpub.publisher;

import org.apache.flink.annotation.PublicEvolving;

import java.time.Duration;

/**
 * Where a publish stands: bytes and chunks handed to the producer so far, bytes the broker has
 * acknowledged, and the totals of the version.
 */
@PublicEvolving
public record PublishProgress(
        String modelId,
        long step,
        String publishId,
        long bytesSent,
        long bytesAcked,
        long totalBytes,
        long chunksSent,
        long totalChunks,
        Duration elapsed) {

    /** Fraction of the version handed to the producer, 0..1 (1 for an empty version). */
    public double fractionSent() {
        return totalBytes == 0 ? 1.0 : (double) bytesSent / totalBytes;
    }
}
