package io.weightpub.sink.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What a sink writer knows about one publish in flight on its worker. */
final class StagingProgress {
    final String modelId;
    final String publishId;
    final long step;
    final long versionBytes;
    final long stagedAtMillis;
    final RangeSet stagedBytes = new RangeSet();
    final Map<Integer, RangeSet> chunkOffsets = new TreeMap<>();
    long bytesWritten;
    /** Set once verified (ON_CHECKPOINT), until flipped. */
    FlipCommittable committable;
    /** Whether {@link #committable} went out with a checkpoint barrier. */
    boolean emitted;
    /** Why its bytes are incomplete on this worker; null while they are whole. */
    String lost;
    /** Its bytes came whole (a rollback from a resident slot or from Kafka): chunk events are not needed. */
    boolean whole;
    /**
     * No slot was free when its first chunk came (each held a verified publish waiting for its
     * checkpoint), so its chunks are not staged: its commit re-reads it from Kafka.
     */
    boolean deferred;
    /** Chunks that came while it was deferred (their bytes are not in its slot), and their Kafka offsets. */
    long missedChunks;
    final Map<Integer, RangeSet> missedOffsets = new TreeMap<>();
    /** Some missed chunk's offset is not known (an event without one, or missed before a restore). */
    boolean missedUnknown;
    /** Its encoded manifest once verified, to verify it again after a restore re-read its bytes. */
    byte[] manifest;
    /**
     * Buckets the job said are complete before all their chunks were staged here (they come from
     * other checkers): bucket index to {offset, size}, hashed once staged. At most one per bucket
     * the job counted; not checkpointed (the verification hashes whatever was not prehashed).
     */
    final Map<Integer, long[]> pendingBuckets = new TreeMap<>();

    StagingProgress(String modelId, String publishId, long step, long versionBytes, long stagedAtMillis) {
        this.modelId = modelId;
        this.publishId = publishId;
        this.step = step;
        this.versionBytes = versionBytes;
        this.stagedAtMillis = stagedAtMillis;
    }

    static StagingProgress restore(int worker, String modelId, WriterState.PublishState saved) {
        StagingProgress progress = new StagingProgress(modelId, saved.publishId(), saved.step(), saved.versionBytes(),
                saved.stagedAtMillis());
        saved.stagedBytes().forEach(r -> progress.stagedBytes.add(r.start(), r.end()));
        saved.chunkOffsets().forEach(r -> progress.chunkOffsets
                .computeIfAbsent(r.partition(), p -> new RangeSet())
                .add(r.firstOffset(), r.lastOffset() + 1));
        progress.bytesWritten = progress.stagedBytes.covered();
        progress.deferred = saved.deferred();
        progress.missedUnknown = saved.deferred();
        if (saved.verifiedVersion() >= 0) {
            progress.committable = new FlipCommittable(worker, modelId, saved.publishId(), saved.verifiedVersion(),
                    saved.contentVersion(), saved.step(), saved.versionBytes(), saved.stagedAtMillis(), "");
            progress.manifest = saved.manifest();
            // It was verified before the checkpoint, so its committable is in that checkpoint.
            progress.emitted = true;
        }
        return progress;
    }

    void miss(int sourcePartition, long sourceOffset) {
        missedChunks++;
        if (sourcePartition >= 0 && sourceOffset >= 0) {
            missedOffsets.computeIfAbsent(sourcePartition, p -> new RangeSet()).add(sourceOffset, sourceOffset + 1);
        } else {
            missedUnknown = true;
        }
    }

    void record(long versionOffset, int length, int sourcePartition, long sourceOffset) {
        bytesWritten += length;
        stagedBytes.add(versionOffset, versionOffset + length);
        if (sourcePartition >= 0 && sourceOffset >= 0) {
            chunkOffsets.computeIfAbsent(sourcePartition, p -> new RangeSet())
                    .add(sourceOffset, sourceOffset + 1);
        }
    }

    WriterState.PublishState snapshot() {
        List<WriterState.ByteRange> bytes = new ArrayList<>();
        stagedBytes.toList().forEach(r -> bytes.add(new WriterState.ByteRange(r[0], r[1])));
        List<WriterState.SourceRange> sources = new ArrayList<>();
        chunkOffsets.forEach((partition, offsets) -> offsets.toList()
                .forEach(r -> sources.add(new WriterState.SourceRange(partition, r[0], r[1] - 1))));
        return new WriterState.PublishState(publishId, step, versionBytes,
                committable == null ? -1 : committable.version(),
                committable == null ? -1 : committable.contentVersion(), stagedAtMillis, bytes, sources,
                committable == null ? null : manifest, deferred);
    }
}
