package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import org.apache.flink.annotation.Internal;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What one sink writer checkpoints: metadata only, never payload bytes. Per model the last
 * committed version with where its chunks are in Kafka (the encoded version-index entry) and its
 * manifest, and every publish in flight with the byte ranges it staged and the Kafka coordinates of
 * its chunks, so that a writer whose store was lost re-reads them from Kafka; and the commit events
 * it holds back until what they wait for (a flip, a free slot) has happened.
 */
@Internal
public record WriterState(int worker, List<ModelState> models) {

    public WriterState {
        models = List.copyOf(models);
    }

    /**
     * A model's last committed version (null if none), its publishes in flight and the commit events
     * held back, in the order they came.
     */
    public record ModelState(String modelId, CommittedVersion lastCommitted, List<PublishState> inFlight,
            List<WeightEvent> heldCommits) {
        public ModelState {
            Objects.requireNonNull(modelId, "modelId");
            inFlight = List.copyOf(inFlight);
            heldCommits = List.copyOf(heldCommits);
        }

        public ModelState(String modelId, CommittedVersion lastCommitted, List<PublishState> inFlight) {
            this(modelId, lastCommitted, inFlight, List.of());
        }
    }

    /**
     * A committed version: {@code location} is its encoded {@code VersionIndexEntry} and {@code
     * manifest} its encoded manifest, both null when the writer did not see its commit event.
     */
    public record CommittedVersion(String publishId, long version, long contentVersion, long step, byte[] location,
            byte[] manifest) {
        public CommittedVersion {
            Objects.requireNonNull(publishId, "publishId");
            location = location == null ? null : location.clone();
            manifest = manifest == null ? null : manifest.clone();
        }

        @Override
        public byte[] location() {
            return location == null ? null : location.clone();
        }

        @Override
        public byte[] manifest() {
            return manifest == null ? null : manifest.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof CommittedVersion c && publishId.equals(c.publishId) && version == c.version
                    && contentVersion == c.contentVersion && step == c.step && Arrays.equals(location, c.location)
                    && Arrays.equals(manifest, c.manifest);
        }

        @Override
        public int hashCode() {
            return Objects.hash(publishId, version, contentVersion, step, Arrays.hashCode(location),
                    Arrays.hashCode(manifest));
        }

        @Override
        public String toString() {
            return "CommittedVersion{publish=" + publishId + ", version=" + version + ", content=" + contentVersion
                    + ", step=" + step + ", location " + (location == null ? "unknown" : "known") + "}";
        }
    }

    /**
     * A publish in flight. {@code verifiedVersion} is the version it verified as and waits to
     * commit as, or -1 while it is still staging; {@code manifest} is its encoded manifest once
     * verified (to verify it again after its bytes were re-read), else null. {@code deferred}: no
     * slot was free for it, its chunks are not staged and its commit re-reads it from Kafka.
     */
    public record PublishState(String publishId, long step, long versionBytes, long verifiedVersion,
            long contentVersion, long stagedAtMillis, List<ByteRange> stagedBytes, List<SourceRange> chunkOffsets,
            byte[] manifest, boolean deferred) {
        public PublishState {
            Objects.requireNonNull(publishId, "publishId");
            stagedBytes = List.copyOf(stagedBytes);
            chunkOffsets = List.copyOf(chunkOffsets);
            manifest = manifest == null ? null : manifest.clone();
        }

        public PublishState(String publishId, long step, long versionBytes, long verifiedVersion,
                long contentVersion, long stagedAtMillis, List<ByteRange> stagedBytes, List<SourceRange> chunkOffsets,
                byte[] manifest) {
            this(publishId, step, versionBytes, verifiedVersion, contentVersion, stagedAtMillis, stagedBytes,
                    chunkOffsets, manifest, false);
        }

        @Override
        public byte[] manifest() {
            return manifest == null ? null : manifest.clone();
        }

        public long stagedByteCount() {
            return stagedBytes.stream().mapToLong(r -> r.end() - r.start()).sum();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof PublishState p && publishId.equals(p.publishId) && step == p.step
                    && versionBytes == p.versionBytes && verifiedVersion == p.verifiedVersion
                    && contentVersion == p.contentVersion && stagedAtMillis == p.stagedAtMillis
                    && stagedBytes.equals(p.stagedBytes) && chunkOffsets.equals(p.chunkOffsets)
                    && Arrays.equals(manifest, p.manifest) && deferred == p.deferred;
        }

        @Override
        public int hashCode() {
            return Objects.hash(publishId, step, versionBytes, verifiedVersion, contentVersion, stagedAtMillis,
                    stagedBytes, chunkOffsets, Arrays.hashCode(manifest), deferred);
        }

        @Override
        public String toString() {
            return "PublishState{publish=" + publishId + ", step=" + step + ", bytes=" + versionBytes
                    + ", verifiedVersion=" + verifiedVersion + ", staged=" + stagedBytes + ", chunks=" + chunkOffsets
                    + (deferred ? ", deferred" : "") + "}";
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
