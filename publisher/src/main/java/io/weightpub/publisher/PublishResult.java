package io.weightpub.publisher;

import io.weightpub.schemas.VersionManifest;
import org.apache.flink.annotation.PublicEvolving;

import java.time.Duration;
import java.util.Objects;

/** What a finished publish sent. */
@PublicEvolving
public final class PublishResult {

    private final VersionManifest manifest;
    private final long chunks;
    private final Duration elapsed;

    public PublishResult(VersionManifest manifest, long chunks, Duration elapsed) {
        this.manifest = VersionManifest.newBuilder(Objects.requireNonNull(manifest, "manifest")).build();
        this.chunks = chunks;
        this.elapsed = Objects.requireNonNull(elapsed, "elapsed");
    }

    public String publishId() {
        return manifest.getPublishId();
    }

    public String modelId() {
        return manifest.getModelId();
    }

    public long step() {
        return manifest.getStep();
    }

    /** Bytes of the version, alignment padding included. */
    public long bytes() {
        return manifest.getTotalBytes();
    }

    public int buckets() {
        return manifest.getBuckets().size();
    }

    public long chunks() {
        return chunks;
    }

    public Duration elapsed() {
        return elapsed;
    }

    /** Throughput in MB/s (10^6 bytes per second) over the whole publish. */
    public double megabytesPerSecond() {
        double seconds = Math.max(elapsed.toNanos(), 1) / 1e9;
        return bytes() / 1e6 / seconds;
    }

    /** A copy of the manifest that closed the publish. */
    public VersionManifest manifest() {
        return VersionManifest.newBuilder(manifest).build();
    }

    @Override
    public String toString() {
        return String.format("published model=%s step=%d publish=%s bytes=%d buckets=%d chunks=%d in %.2f s (%.1f MB/s)",
                modelId(), step(), publishId(), bytes(), buckets(), chunks, elapsed.toNanos() / 1e9,
                megabytesPerSecond());
    }
}
