package io.weightpub.sink.internal;

import java.util.List;
import java.util.Objects;

/**
 * What one sink writer checkpoints: metadata only, never payload bytes. Per model the last
 * committed version and every publish in flight with the byte ranges it staged and the Kafka
 * coordinates of its chunks, so that lost bytes can be named (and later re-read from Kafka).
 */
public record WriterState(int worker, List<ModelState> models) {

    public WriterState {
        models = List.copyOf(models);
    }

    /** A model's last committed version (null if none) and its publishes in flight. */
    public record ModelState(String modelId, CommittedVersion lastCommitted, List<PublishState> inFlight) {
        public ModelState {
            Objects.requireNonNull(modelId, "modelId");
            inFlight = List.copyOf(inFlight);
        }
    }

    public record CommittedVersion(String publishId, long version, long contentVersion, long step) {
        public CommittedVersion {
            Objects.requireNonNull(publishId, "publishId");
        }
    }

    /**
     * A publish in flight. {@code verifiedVersion} is the version it verified as and waits to
     * commit as, or -1 while it is still staging.
     */
    public record PublishState(String publishId, long step, long versionBytes, long verifiedVersion,
            long contentVersion, long stagedAtMillis, List<ByteRange> stagedBytes, List<SourceRange> chunkOffsets) {
        public PublishState {
            Objects.requireNonNull(publishId, "publishId");
            stagedBytes = List.copyOf(stagedBytes);
            chunkOffsets = List.copyOf(chunkOffsets);
        }

        public long stagedByteCount() {
            return stagedBytes.stream().mapToLong(r -> r.end() - r.start()).sum();
        }
    }

    /** Bytes {@code [start, end)} of a version. */
    public record ByteRange(long start, long end) {}

    /** Offsets {@code [firstOffset, lastOffset]} of a chunks-topic partition. */
    public record SourceRange(int partition, long firstOffset, long lastOffset) {
        @Override
        public String toString() {
            return "partition " + partition + " offsets " + firstOffset + ".." + lastOffset;
        }
    }
}
