package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.sink.SinkOptions;
import io.weightpub.sink.internal.InFlightPublishes.ModelTrack;
import io.weightpub.store.CommitOutcome;
import io.weightpub.store.SlotAllocationException;
import io.weightpub.store.VerifyResult;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.WeightStore;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Puts bytes a worker does not hold back into its store from Kafka: a version whose chunks were
 * not staged here (a rollback to a version no longer resident, a publish whose slot was taken or
 * never free), and, when a writer restores, the last committed version and the chunks of publishes
 * in flight that the store lost.
 */
final class VersionReplayer {

    /** Claims a shadow slot for a publish, freeing one if the writer may; false when none can be had now. */
    @FunctionalInterface
    interface SlotClaim {
        boolean claim(ModelTrack track, StagingProgress progress);
    }

    /** No shadow slot can be had now: each holds a verified publish waiting for its checkpoint. */
    static final class NoFreeSlotException extends Exception {
        private static final long serialVersionUID = 1L;

        NoFreeSlotException(String message) {
            super(message);
        }
    }

    private final int worker;
    private final WorkerRuntime runtime;
    private final WeightStore store;
    private final String chunksTopic;
    private final SlotClaim slots;
    private final SignatureVerifier signatures;

    VersionReplayer(int worker, WorkerRuntime runtime, String chunksTopic, SlotClaim slots,
            SignatureVerifier signatures) {
        this.signatures = signatures;
        this.worker = worker;
        this.runtime = runtime;
        this.store = runtime.store();
        this.chunksTopic = chunksTopic;
        this.slots = slots;
    }

    /**
     * Resumes from a checkpoint. Where the store lost bytes (a new store: the worker's process or
     * memory is gone), the last committed version is re-read from Kafka and made active first; the
     * model serves nothing until then. Then publishes in flight get their lost chunks back from
     * Kafka by the offsets in the state, so they can still complete. Held commits are held again.
     */
    void restore(InFlightPublishes publishes, WriterState state, boolean storeIsNew, OptionalLong checkpoint) {
        String from = "the restore from checkpoint " + (checkpoint.isPresent() ? checkpoint.getAsLong() : "?");
        for (WriterState.ModelState saved : state.models()) {
            ModelTrack track = publishes.track(saved.modelId());
            track.lastCommitted = saved.lastCommitted();
            WriterState.CommittedVersion last = saved.lastCommitted();
            if (last != null && activeVersion(saved.modelId()) < last.version()) {
                restoreCommitted(track, last, from, storeIsNew);
            }
            Set<String> resident = new LinkedHashSet<>();
            store.status(saved.modelId()).staged().forEach(s -> resident.add(s.publishId()));
            // A relabel of the active bytes (a rollback to the current content) needs no slot.
            store.status(saved.modelId()).active().map(VersionInfo::publishId).ifPresent(resident::add);
            for (WriterState.PublishState publish : saved.inFlight()) {
                if (publish.verifiedVersion() >= 0 && activeVersion(saved.modelId()) >= publish.verifiedVersion()) {
                    track.finish(publish.publishId()); // the committer flipped it while restoring
                    continue;
                }
                StagingProgress progress = StagingProgress.restore(worker, saved.modelId(), publish);
                if (!progress.deferred && !resident.contains(publish.publishId())) {
                    progress = restoreInFlight(track, progress, publish, from);
                    if (progress == null) {
                        continue;
                    }
                }
                track.inFlight.put(publish.publishId(), progress);
            }
            track.held.addAll(saved.heldCommits());
        }
    }

    private void restoreCommitted(ModelTrack track, WriterState.CommittedVersion last, String from,
            boolean storeIsNew) {
        String modelId = track.modelId;
        String what = "version " + last.version() + " (publish " + last.publishId() + ", content of version "
                + last.contentVersion() + ") of model " + modelId;
        try {
            if (last.location() == null || last.manifest() == null) {
                throw new ReplayException("the checkpoint does not say where its chunks are in Kafka");
            }
            VersionIndexEntry location = decodeLocation(last.location(), what);
            VersionManifest manifest = decodeManifest(last.manifest(), what);
            checkSignature(manifest);
            Replayed replayed = replayVersion(track, last.publishId(), last.step(), manifest.getTotalBytes(),
                    location.getChunkRanges(), manifest);
            CommitOutcome outcome = store.commit(modelId, last.publishId(), last.version(), last.contentVersion());
            String message = "restored after " + from + (storeIsNew ? " (the worker's store was lost)" : "")
                    + ": " + replayed.describe() + "; nothing was served for the model while restoring";
            runtime.reporter().report(outcome == CommitOutcome.FLIPPED ? VersionState.COMMITTED : VersionState.FAILED,
                    modelId, last.version(), last.contentVersion(), last.step(), last.publishId(),
                    replayed.stats().payloadBytes(), replayed.stats().nanos() / 1_000_000,
                    outcome == CommitOutcome.FLIPPED ? message : message + ", but the commit found it " + outcome);
        } catch (ReplayException | WireFormatException | NoFreeSlotException e) {
            String message = what + " was active on worker " + worker + " before " + from + " but is not resident"
                    + (storeIsNew ? " (the worker's store was lost)" : "") + " and could not be re-read from "
                    + "Kafka: " + e.getMessage() + "; nothing is served for this model until a new version commits";
            store.recordError(modelId, message);
            runtime.reporter().report(VersionState.FAILED, modelId, last.version(), last.contentVersion(),
                    last.step(), last.publishId(), 0, 0, message);
        }
    }

    /**
     * Re-reads the chunks a publish in flight had staged before the checkpoint, by their recorded
     * offsets. A publish that had verified is verified again and flipped: its committable belongs
     * to the checkpoint restored from, which completed. Returns the progress to keep in flight, or
     * null when the publish is done.
     */
    private StagingProgress restoreInFlight(ModelTrack track, StagingProgress restored, WriterState.PublishState publish,
            String from) {
        String modelId = track.modelId;
        String lostBytes = publish.stagedByteCount() + " of " + publish.versionBytes() + " bytes staged before "
                + from + " are not resident (chunks at " + publish.chunkOffsets() + ")";
        String topic = chunksTopic != null ? chunksTopic : chunksTopicOf(track.lastCommitted);
        StagingProgress progress = new StagingProgress(modelId, publish.publishId(), publish.step(), publish.versionBytes(),
                publish.stagedAtMillis());
        progress.committable = restored.committable;
        progress.emitted = restored.emitted;
        progress.manifest = publish.manifest();
        try {
            if (topic == null) {
                throw new ReplayException("the chunks topic is unknown (set " + SinkOptions.REPLAY_CHUNKS_TOPIC.key()
                        + ")");
            }
            List<KafkaOffsetRange> ranges = new ArrayList<>();
            publish.chunkOffsets().forEach(r -> ranges.add(new KafkaOffsetRange(topic, r.partition(),
                    r.firstOffset(), r.lastOffset())));
            long start = System.nanoTime();
            KafkaChunkReader.Stats stats = readInto(track, progress, ranges);
            if (progress.stagedBytes.covered() < publish.stagedByteCount()) {
                throw new ReplayException("only " + progress.stagedBytes.covered() + " of the "
                        + publish.stagedByteCount() + " bytes staged before came back");
            }
            String reread = "re-read " + describe(stats) + " after " + from;
            if (publish.verifiedVersion() < 0) {
                runtime.reporter().report(VersionState.STAGED, modelId, -1, -1, publish.step(), publish.publishId(),
                        progress.bytesWritten, (System.nanoTime() - start) / 1_000_000,
                        "lost chunks of the publish in flight " + reread);
                return progress;
            }
            VersionManifest manifest = decodeManifest(publish.manifest(), "publish " + publish.publishId());
            checkSignature(manifest);
            VerifyResult result = store.verify(modelId, publish.publishId(), manifest);
            if (!result.ok()) {
                store.abort(modelId, publish.publishId());
                throw new ReplayException(result.describe());
            }
            Flips.flip(runtime, progress.committable, "its checkpoint completed before the restore; bytes " + reread);
            track.finish(publish.publishId());
            return null;
        } catch (ReplayException | WireFormatException | NoFreeSlotException e) {
            store.abort(modelId, publish.publishId());
            progress.lost = lostBytes + " and could not be re-read from Kafka: " + e.getMessage();
            String message = "publish " + publish.publishId() + " of model " + modelId + ": " + progress.lost
                    + "; it cannot commit on worker " + worker;
            store.recordError(modelId, message);
            runtime.reporter().report(VersionState.FAILED, modelId, publish.verifiedVersion(),
                    publish.contentVersion(), publish.step(), publish.publishId(), publish.versionBytes(), 0, message);
            return progress;
        }
    }

    /** A restore serves a checkpointed manifest only if the sink's keys still accept it. */
    private void checkSignature(VersionManifest manifest) throws ReplayException {
        java.util.Optional<String> refused = signatures.checkManifest(manifest);
        if (refused.isPresent()) {
            throw new ReplayException("its manifest is refused: " + refused.get());
        }
    }

    private static String chunksTopicOf(WriterState.CommittedVersion last) {
        if (last == null || last.location() == null) {
            return null;
        }
        try {
            List<KafkaOffsetRange> ranges = WireCodec.VERSION_INDEX.decode(last.location()).getChunkRanges();
            return ranges.isEmpty() ? null : ranges.get(0).getTopic();
        } catch (WireFormatException e) {
            return null;
        }
    }

    /**
     * Re-reads into a staged publish's slot the chunks it missed while deferred: by their offsets
     * when each is known, else every chunk of the version by the commit's index entry (bytes
     * already there are written alike again).
     */
    void refill(ModelTrack track, StagingProgress progress, WeightEvent commit)
            throws ReplayException, WireFormatException, NoFreeSlotException {
        String what = "publish " + progress.publishId + " of model " + progress.modelId;
        List<KafkaOffsetRange> all = decodeLocation(commit.location(), what).getChunkRanges();
        List<KafkaOffsetRange> ranges = new ArrayList<>();
        if (progress.missedUnknown || all.isEmpty()) {
            ranges.addAll(all);
        } else {
            String topic = all.get(0).getTopic();
            progress.missedOffsets.forEach((partition, offsets) -> offsets.toList().forEach(r -> ranges.add(
                    new KafkaOffsetRange(topic, partition, r[0], r[1] - 1))));
        }
        readInto(track, progress, ranges);
        progress.missedChunks = 0;
        progress.missedOffsets.clear();
        progress.missedUnknown = false;
    }

    /**
     * Stages a publish into a fresh shadow slot from Kafka and verifies it against {@code manifest}.
     * Nothing is staged unless every range is still in Kafka and a slot is free; on any later
     * failure the slot is dropped again.
     */
    Replayed replayVersion(ModelTrack track, String publishId, long step, long versionBytes,
            List<KafkaOffsetRange> ranges, VersionManifest manifest) throws ReplayException, NoFreeSlotException {
        String modelId = track.modelId;
        StagingProgress progress = new StagingProgress(modelId, publishId, step, versionBytes, System.currentTimeMillis());
        KafkaChunkReader.Stats stats = readInto(track, progress, ranges);
        try {
            if (progress.stagedBytes.covered() < versionBytes) {
                throw new ReplayException("publish " + publishId + " of model " + modelId + ": the chunks in "
                        + describe(ranges) + " cover " + progress.stagedBytes.covered() + " of " + versionBytes
                        + " bytes; missing " + gaps(progress.stagedBytes, versionBytes, manifest));
            }
            VerifyResult result = store.verify(modelId, publishId, manifest);
            if (!result.ok()) {
                throw new ReplayException("the bytes re-read from " + describe(ranges) + " fail verification: "
                        + result.describe());
            }
            return new Replayed(progress, stats, result);
        } catch (ReplayException e) {
            store.abort(modelId, publishId);
            throw e;
        }
    }

    /**
     * Reads the publish's chunks in {@code ranges} into a shadow slot staged for {@code progress}
     * once the ranges are known to be in Kafka, recording what was written. The slot is dropped if
     * the read fails.
     */
    private KafkaChunkReader.Stats readInto(ModelTrack track, StagingProgress progress, List<KafkaOffsetRange> ranges)
            throws ReplayException, NoFreeSlotException {
        KafkaChunkReader reader = runtime.replay();
        if (reader == null) {
            throw new ReplayException("the sink has no Kafka bootstrap servers to re-read publish "
                    + progress.publishId + " of model " + progress.modelId + " from");
        }
        try (KafkaChunkReader.Replay replay = reader.open(progress.modelId, progress.publishId,
                progress.versionBytes, ranges)) {
            boolean claimed;
            try {
                claimed = slots.claim(track, progress);
            } catch (SlotAllocationException e) {
                // Over a memory budget or out of memory: the store is as it was; the caller reports it FAILED.
                throw new ReplayException("publish " + progress.publishId + " of model " + progress.modelId
                        + " cannot be re-read: the store refused it a slot: " + e.getMessage(), e);
            }
            if (!claimed) {
                throw new NoFreeSlotException("publish " + progress.publishId + " of model " + progress.modelId
                        + " has no free slot: every shadow slot holds a verified publish waiting for its checkpoint");
            }
            try {
                return replay.readInto((chunk, partition, offset) -> {
                    store.write(progress.modelId, progress.publishId, chunk.versionOffset(), chunk.payload(),
                            chunk.payloadOffset(), chunk.payloadLength());
                    progress.record(chunk.versionOffset(), chunk.payloadLength(), partition, offset);
                });
            } catch (ReplayException | RuntimeException e) {
                store.abort(progress.modelId, progress.publishId);
                if (e instanceof ReplayException replayException) {
                    throw replayException;
                }
                throw new ReplayException("publish " + progress.publishId + " of model " + progress.modelId
                        + ": writing re-read chunks into the slot failed: " + e, e);
            }
        }
    }

    private static String describe(List<KafkaOffsetRange> ranges) {
        List<String> out = new ArrayList<>();
        ranges.forEach(r -> out.add(r.getTopic() + "-" + r.getPartition() + " " + r.getFirstOffset() + ".."
                + r.getLastOffset()));
        return String.join(", ", out);
    }

    /** The first few byte ranges missing from {@code covered}, with the buckets they fall in. */
    private static String gaps(RangeSet covered, long versionBytes, VersionManifest manifest) {
        List<String> out = new ArrayList<>();
        long at = 0;
        List<long[]> ranges = new ArrayList<>(covered.toList());
        ranges.add(new long[] {versionBytes, versionBytes});
        for (long[] range : ranges) {
            if (range[0] > at && out.size() < 5) {
                long gapStart = at;
                List<Integer> buckets = manifest.getBuckets().stream()
                        .filter(b -> b.getOffset() < range[0] && b.getOffset() + b.getSizeBytes() > gapStart)
                        .map(BucketInfo::getIndex).toList();
                out.add("bytes [" + gapStart + ", " + range[0] + ") of bucket(s) " + buckets);
            }
            at = Math.max(at, range[1]);
        }
        return String.join(", ", out);
    }

    static VersionIndexEntry decodeLocation(byte[] location, String what) throws WireFormatException {
        try {
            return WireCodec.VERSION_INDEX.decode(location);
        } catch (WireFormatException e) {
            throw new WireFormatException(e.kind(), "the version-index entry of " + what + " does not decode: "
                    + e.getMessage(), e);
        }
    }

    static VersionManifest decodeManifest(byte[] manifest, String what) throws WireFormatException {
        try {
            return WireCodec.MANIFEST.decode(manifest);
        } catch (WireFormatException e) {
            throw new WireFormatException(e.kind(), "the manifest of " + what + " does not decode: "
                    + e.getMessage(), e);
        }
    }

    private long activeVersion(String modelId) {
        return store.status(modelId).active().map(VersionInfo::version).orElse(-1L);
    }

    private static String describe(KafkaChunkReader.Stats stats) {
        return String.format(Locale.ROOT, "%d bytes from Kafka in %d ms, %.0f MB/s", stats.payloadBytes(),
                stats.nanos() / 1_000_000, stats.megabytesPerSecond());
    }

    /** A publish staged from Kafka and verified. */
    record Replayed(StagingProgress progress, KafkaChunkReader.Stats stats, VerifyResult verified) {
        String describe() {
            return "replayed " + VersionReplayer.describe(stats);
        }
    }
}
