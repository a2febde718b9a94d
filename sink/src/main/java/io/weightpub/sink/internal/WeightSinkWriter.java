package io.weightpub.sink.internal;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.sink.CommitMode;
import io.weightpub.sink.CommitOutcome;
import io.weightpub.sink.ModelStatus;
import io.weightpub.sink.ReferenceWorker;
import io.weightpub.sink.SinkOptions;
import io.weightpub.sink.SlotsExhaustedException;
import io.weightpub.sink.StagedPublish;
import io.weightpub.sink.VerifyResult;
import io.weightpub.sink.VersionInfo;
import io.weightpub.sink.WeightEvent;
import io.weightpub.sink.WeightSink;
import io.weightpub.sink.WeightStore;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;

/**
 * One worker's sink writer: stages chunks into the worker's store, verifies a publish when its
 * commit arrives, then flips it at once ({@link CommitMode#IMMEDIATE}) or hands a committable to
 * the checkpoint ({@link CommitMode#ON_CHECKPOINT}). A commit for bytes it did not stage (a
 * rollback) flips to a resident slot or re-reads the version from Kafka; a restore that finds the
 * store lost re-reads the last committed version and the chunks of publishes in flight. Its state
 * is metadata only.
 */
public final class WeightSinkWriter
        implements StatefulSinkWriter<WeightEvent, WriterState>, CommittingSinkWriter<WeightEvent, FlipCommittable> {

    private static final Logger LOG = LoggerFactory.getLogger(WeightSinkWriter.class);
    /** Finished publishes remembered per model, so that chunks re-sent after a restore are ignored. */
    private static final int FINISHED_MEMORY = 64;

    private final String sinkName;
    private final int worker;
    private final CommitMode commitMode;
    private final WorkerRuntime runtime;
    private final WeightStore store;
    private final SinkMetrics metrics;
    private final String chunksTopic;
    private final Map<String, ModelTrack> models = new HashMap<>();
    private final List<FlipCommittable> toEmit = new ArrayList<>();

    public WeightSinkWriter(WeightSink sink, int worker, OptionalLong restoredCheckpoint,
            Collection<WriterState> restored, MetricGroup metricGroup) {
        this.sinkName = sink.name();
        this.worker = worker;
        this.commitMode = sink.commitMode();
        WorkerRegistry.Obtained obtained = WorkerRegistry.obtain(sinkName, worker, () -> createRuntime(sink, worker));
        this.runtime = obtained.runtime();
        this.store = runtime.store();
        this.chunksTopic = sink.chunksTopic().orElse(null);
        this.metrics = new SinkMetrics(metricGroup, store);
        LOG.info("sink {} worker {}: {} store {}, commit {}{}", sinkName, worker,
                obtained.created() ? "new" : "resumed", store.describe(), commitMode,
                runtime.http() == null ? "" : ", reference worker at " + runtime.http().uri());
        for (WriterState state : restored) {
            restore(state, obtained.created(), restoredCheckpoint);
        }
    }

    private static WorkerRuntime createRuntime(WeightSink sink, int worker) {
        WeightStore store = WeightStore.open(sink.storeConfig(), worker);
        StatusReporter reporter = null;
        try {
            reporter = new StatusReporter(worker, sink.statusTopic().orElse(null),
                    sink.bootstrapServers().orElse(null), sink.producerProperties());
            ReferenceWorker http = sink.workerHttp()
                    ? ReferenceWorker.start(store, worker, sink.httpBasePort() == 0 ? 0 : sink.httpBasePort() + worker)
                    : null;
            KafkaChunkReader replay = sink.replayConsumerProperties().map(props -> {
                props.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "weightpub-replay-" + sink.name() + "-" + worker);
                return new KafkaChunkReader(props, sink.replayStallTimeout());
            }).orElse(null);
            return new WorkerRuntime(sink.name(), worker, store, reporter, http, replay);
        } catch (RuntimeException e) {
            if (reporter != null) {
                reporter.close();
            }
            store.close();
            throw e;
        }
    }

    /**
     * Resumes from a checkpoint. Where the store lost bytes (a new store: the worker's process or
     * memory is gone), the last committed version is re-read from Kafka and made active first; the
     * model serves nothing until then. Then publishes in flight get their lost chunks back from
     * Kafka by the offsets in the state, so they can still complete.
     */
    private void restore(WriterState state, boolean storeIsNew, OptionalLong checkpoint) {
        String from = "the restore from checkpoint " + (checkpoint.isPresent() ? checkpoint.getAsLong() : "?");
        for (WriterState.ModelState saved : state.models()) {
            ModelTrack track = track(saved.modelId());
            track.lastCommitted = saved.lastCommitted();
            WriterState.CommittedVersion last = saved.lastCommitted();
            if (last != null && activeVersion(saved.modelId()) < last.version()) {
                restoreCommitted(track, last, from, storeIsNew);
            }
            Set<String> resident = new LinkedHashSet<>();
            store.status(saved.modelId()).staged().forEach(s -> resident.add(s.publishId()));
            for (WriterState.PublishState publish : saved.inFlight()) {
                if (publish.verifiedVersion() >= 0 && activeVersion(saved.modelId()) >= publish.verifiedVersion()) {
                    finish(track, publish.publishId()); // the committer flipped it while restoring
                    continue;
                }
                Progress progress = Progress.restore(worker, saved.modelId(), publish);
                if (!resident.contains(publish.publishId())) {
                    progress = restoreInFlight(track, progress, publish, from);
                    if (progress == null) {
                        continue;
                    }
                }
                track.inFlight.put(publish.publishId(), progress);
            }
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
            Replayed replayed = replayVersion(track, modelId, last.publishId(), last.step(),
                    manifest.getTotalBytes(), location.getChunkRanges(), manifest);
            CommitOutcome outcome = store.commit(modelId, last.publishId(), last.version(), last.contentVersion());
            String message = "restored after " + from + (storeIsNew ? " (the worker's store was lost)" : "")
                    + ": " + replayed.describe() + "; nothing was served for the model while restoring";
            runtime.reporter().report(outcome == CommitOutcome.FLIPPED ? VersionState.COMMITTED : VersionState.FAILED,
                    modelId, last.version(), last.contentVersion(), last.step(), last.publishId(),
                    replayed.stats.payloadBytes(), replayed.stats.nanos() / 1_000_000,
                    outcome == CommitOutcome.FLIPPED ? message : message + ", but the commit found it " + outcome);
        } catch (ReplayException | WireFormatException e) {
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
    private Progress restoreInFlight(ModelTrack track, Progress restored, WriterState.PublishState publish,
            String from) {
        String modelId = track.modelId;
        String lostBytes = publish.stagedByteCount() + " of " + publish.versionBytes() + " bytes staged before "
                + from + " are not resident (chunks at " + publish.chunkOffsets() + ")";
        String topic = chunksTopic != null ? chunksTopic : chunksTopicOf(track.lastCommitted);
        Progress progress = new Progress(modelId, publish.publishId(), publish.step(), publish.versionBytes(),
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
            String reread = "re-read " + describeReplay(stats) + " after " + from;
            if (publish.verifiedVersion() < 0) {
                runtime.reporter().report(VersionState.STAGED, modelId, -1, -1, publish.step(), publish.publishId(),
                        progress.bytesWritten, (System.nanoTime() - start) / 1_000_000,
                        "lost chunks of the publish in flight " + reread);
                return progress;
            }
            VersionManifest manifest = decodeManifest(publish.manifest(), "publish " + publish.publishId());
            VerifyResult result = store.verify(modelId, publish.publishId(), manifest);
            if (!result.ok()) {
                store.abort(modelId, publish.publishId());
                throw new ReplayException(result.describe());
            }
            Flips.flip(runtime, progress.committable, "its checkpoint completed before the restore; bytes " + reread);
            finish(track, publish.publishId());
            return null;
        } catch (ReplayException | WireFormatException e) {
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

    @Override
    public void write(WeightEvent event, Context context) {
        metrics.watch(event.modelId());
        switch (event.kind()) {
            case STAGE_CHUNK -> stageChunk(event);
            case COMMIT_VERSION -> commitVersion(event);
            case ABORT_VERSION -> abortVersion(event);
            case BUCKET_COMPLETE -> prehashBucket(event);
        }
    }

    private void stageChunk(WeightEvent event) {
        ModelTrack track = track(event.modelId());
        Progress progress = track.inFlight.get(event.publishId());
        if (progress == null) {
            if (track.finished.contains(event.publishId())) {
                return; // re-sent after a restore; the publish already finished here
            }
            progress = new Progress(event.modelId(), event.publishId(), event.step(), event.versionBytes(),
                    System.currentTimeMillis());
            stage(track, progress);
            track.inFlight.put(event.publishId(), progress);
            runtime.reporter().report(VersionState.STAGED, event.modelId(), -1, -1, event.step(), event.publishId(),
                    event.versionBytes(), 0, "first chunk staged into a shadow slot");
        }
        if (progress.lost != null) {
            return; // its earlier bytes are gone; staging the rest cannot make it whole
        }
        if (progress.whole) {
            return; // a rollback's bytes came whole from a resident slot or from Kafka and verified
        }
        store.write(event.modelId(), event.publishId(), event.versionOffset(), event.payload(), event.payloadOffset(),
                event.payloadLength());
        metrics.chunksStaged.inc();
        metrics.bytesStaged.inc(event.payloadLength());
        progress.record(event.versionOffset(), event.payloadLength(), event.sourcePartition(), event.sourceOffset());
    }

    /**
     * Hashes a bucket whose every chunk is staged while the next buckets still stream, so the
     * commit's verification finds its digest ready. Buckets this worker does not hold whole are left
     * to the verification.
     */
    private void prehashBucket(WeightEvent event) {
        Progress progress = track(event.modelId()).inFlight.get(event.publishId());
        if (progress == null || progress.lost != null || progress.whole
                || !progress.stagedBytes.covers(event.versionOffset(), event.versionOffset() + event.bucketSize())) {
            return;
        }
        store.prehash(event.modelId(), event.publishId(), event.versionOffset(), event.bucketSize());
    }

    /** Claims a shadow slot; when every shadow slot holds another publish, frees the oldest and retries. */
    private void stage(ModelTrack track, Progress progress) {
        while (true) {
            try {
                store.stage(progress.modelId, progress.publishId, progress.step, progress.versionBytes);
                return;
            } catch (SlotsExhaustedException e) {
                evict(track, e.holders().get(0), progress.publishId);
            }
        }
    }

    /**
     * Frees the slot of {@code holder} for {@code newPublish}. The decision depends only on the
     * position in the stream (every worker sees the same events and barriers), so all workers
     * decide alike: a verified publish whose committable already went out with a checkpoint
     * barrier is flipped now (its checkpoint's completion notice is on its way); any other holder
     * is superseded.
     */
    private void evict(ModelTrack track, StagedPublish holder, String newPublish) {
        Progress held = track.inFlight.remove(holder.publishId());
        if (held != null && held.committable != null && held.emitted) {
            Flips.flip(runtime, held.committable, "flipped when publish " + newPublish
                    + " needed its slot, before its checkpoint's completion notice");
            finish(track, held.publishId);
            return;
        }
        store.abort(holder.modelId(), holder.publishId());
        if (held != null && held.committable != null) {
            toEmit.remove(held.committable);
        }
        finish(track, holder.publishId());
        String message = "superseded by publish " + newPublish + " while "
                + (holder.verified() ? "verified but not yet in a checkpoint" : "still staging")
                + ": no free slot (" + "raise slots per model to keep it)";
        runtime.reporter().report(VersionState.ABORTED, holder.modelId(),
                held != null && held.committable != null ? held.committable.version() : -1, -1, holder.step(),
                holder.publishId(), holder.bytesWritten(), 0, message);
    }

    private void commitVersion(WeightEvent event) {
        ModelTrack track = track(event.modelId());
        Progress progress = track.inFlight.get(event.publishId());
        if (progress == null) {
            commitNotStaged(track, event);
            return;
        }
        if (progress.lost != null) {
            track.inFlight.remove(event.publishId());
            finish(track, event.publishId());
            fail(event, progress.versionBytes, "version " + event.version() + " cannot commit on worker " + worker
                    + ": " + progress.lost);
            return;
        }
        VersionManifest manifest;
        try {
            manifest = WireCodec.MANIFEST.decode(event.manifest());
        } catch (WireFormatException e) {
            drop(track, event);
            fail(event, progress.versionBytes, "manifest of version " + event.version() + " does not decode: "
                    + e.getMessage());
            return;
        }
        VerifyResult result = store.verify(event.modelId(), event.publishId(), manifest);
        if (!result.ok()) {
            drop(track, event);
            fail(event, progress.versionBytes, "version " + event.version() + " not committed: " + result.describe());
            return;
        }
        metrics.versionsVerified.inc();
        runtime.reporter().report(VersionState.VERIFIED, event.modelId(), event.version(), event.contentVersion(),
                event.step(), event.publishId(), result.bytesVerified(), result.durationNanos() / 1_000_000,
                "every bucket digest matches the manifest on the slot's bytes");
        commitVerified(track, progress, event, "");
    }

    /**
     * A commit for a publish whose chunks this writer did not stage: a rollback (the content of an
     * earlier version as a new version), or a version whose chunks it never received. Resident bytes
     * are flipped to; anything else is re-read from Kafka by the version's offsets and verified. If
     * that cannot be done the worker is left as it was and the status says what is missing.
     */
    private void commitNotStaged(ModelTrack track, WeightEvent event) {
        String modelId = event.modelId();
        if (activeVersion(modelId) >= event.version()) {
            return; // replayed after a restore, already done
        }
        boolean rollback = event.contentVersion() != event.version();
        if (!rollback && track.finished.contains(event.publishId())) {
            return; // this publish failed or was aborted here before; its status said so
        }
        String what = rollback
                ? "rollback to version " + event.contentVersion()
                : "version " + event.version() + " (none of its chunks were staged on worker " + worker + ")";
        VersionIndexEntry location;
        VersionManifest manifest;
        try {
            location = decodeLocation(event.location(), what);
            manifest = decodeManifest(event.manifest(), what);
        } catch (WireFormatException e) {
            fail(event, 0, what + " failed: " + e.getMessage() + "; nothing changed on worker " + worker);
            return;
        }
        long now = System.currentTimeMillis();
        Progress progress = new Progress(modelId, event.publishId(), event.step(), event.versionBytes(), now);
        String origin;
        Optional<VersionInfo> active = store.status(modelId).active();
        if (active.isPresent() && active.get().publishId().equals(event.publishId())) {
            origin = what + " (resident flip: its bytes are the active ones)";
        } else if (store.stageResident(modelId, event.publishId()).isPresent()) {
            origin = what + " (resident flip)";
            metrics.residentFlips.inc();
        } else {
            try {
                Replayed replayed = replayVersion(track, modelId, event.publishId(), event.step(),
                        event.versionBytes(), location.getChunkRanges(), manifest);
                progress = replayed.progress;
                metrics.bytesReplayed.inc(replayed.stats.payloadBytes());
                metrics.versionsVerified.inc();
                origin = what + " (" + replayed.describe() + ")";
                runtime.reporter().report(VersionState.VERIFIED, modelId, event.version(), event.contentVersion(),
                        event.step(), event.publishId(), replayed.stats.payloadBytes(),
                        replayed.stats.nanos() / 1_000_000, origin + "; every bucket digest matches the manifest");
            } catch (ReplayException e) {
                fail(event, 0, what + " failed, nothing changed on worker " + worker + ": " + e.getMessage());
                return;
            }
        }
        if (progress.stagedBytes.covered() == 0) {
            // Resident: every byte is there; a restore after a lost store re-reads them by these ranges.
            progress.stagedBytes.add(0, event.versionBytes());
            progress.bytesWritten = event.versionBytes();
            for (KafkaOffsetRange range : location.getChunkRanges()) {
                progress.chunkOffsets.computeIfAbsent(range.getPartition(), p -> new RangeSet())
                        .add(range.getFirstOffset(), range.getLastOffset() + 1);
            }
        }
        progress.whole = true;
        track.inFlight.put(event.publishId(), progress);
        commitVerified(track, progress, event, origin);
    }

    /** Flips a verified publish at once (IMMEDIATE) or hands its committable to the next checkpoint. */
    private void commitVerified(ModelTrack track, Progress progress, WeightEvent event, String origin) {
        progress.manifest = event.manifest();
        track.committedMeta.put(event.version(), new CommittedMeta(event.location(), event.manifest()));
        FlipCommittable committable = new FlipCommittable(worker, event.modelId(), event.publishId(),
                event.version(), event.contentVersion(), event.step(), progress.versionBytes, progress.stagedAtMillis,
                origin);
        if (commitMode == CommitMode.IMMEDIATE) {
            CommitOutcome outcome = Flips.flip(runtime, committable, "immediate commit");
            if (outcome != CommitOutcome.NOT_VERIFIED) {
                track.inFlight.remove(event.publishId());
                finish(track, event.publishId());
            }
        } else {
            progress.committable = committable;
            toEmit.add(committable);
        }
    }

    /**
     * Stages a publish into a fresh shadow slot from Kafka and verifies it against {@code manifest}.
     * Nothing is staged unless every range is still in Kafka; on any later failure the slot is
     * dropped again.
     */
    private Replayed replayVersion(ModelTrack track, String modelId, String publishId, long step, long versionBytes,
            List<KafkaOffsetRange> ranges, VersionManifest manifest) throws ReplayException {
        Progress progress = new Progress(modelId, publishId, step, versionBytes, System.currentTimeMillis());
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
    private KafkaChunkReader.Stats readInto(ModelTrack track, Progress progress, List<KafkaOffsetRange> ranges)
            throws ReplayException {
        KafkaChunkReader reader = runtime.replay();
        if (reader == null) {
            throw new ReplayException("the sink has no Kafka bootstrap servers to re-read publish "
                    + progress.publishId + " of model " + progress.modelId + " from");
        }
        try (KafkaChunkReader.Replay replay = reader.open(progress.modelId, progress.publishId,
                progress.versionBytes, ranges)) {
            stage(track, progress);
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

    private static VersionIndexEntry decodeLocation(byte[] location, String what) throws WireFormatException {
        try {
            return WireCodec.VERSION_INDEX.decode(location);
        } catch (WireFormatException e) {
            throw new WireFormatException(e.kind(), "the version-index entry of " + what + " does not decode: "
                    + e.getMessage(), e);
        }
    }

    private static VersionManifest decodeManifest(byte[] manifest, String what) throws WireFormatException {
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

    private static String describeReplay(KafkaChunkReader.Stats stats) {
        return String.format(Locale.ROOT, "%d bytes from Kafka in %d ms, %.0f MB/s", stats.payloadBytes(),
                stats.nanos() / 1_000_000, stats.megabytesPerSecond());
    }

    /** A publish staged from Kafka and verified. */
    private record Replayed(Progress progress, KafkaChunkReader.Stats stats, VerifyResult verified) {
        String describe() {
            return "replayed " + describeReplay(stats);
        }
    }

    private void abortVersion(WeightEvent event) {
        ModelTrack track = track(event.modelId());
        Progress progress = track.inFlight.remove(event.publishId());
        if (progress == null) {
            return;
        }
        store.abort(event.modelId(), event.publishId());
        if (progress.committable != null) {
            toEmit.remove(progress.committable);
        }
        finish(track, event.publishId());
        runtime.reporter().report(VersionState.ABORTED, event.modelId(), -1, -1, event.step(), event.publishId(),
                progress.bytesWritten, System.currentTimeMillis() - progress.stagedAtMillis,
                "aborted by the job: " + event.reason());
    }

    private void drop(ModelTrack track, WeightEvent event) {
        track.inFlight.remove(event.publishId());
        store.abort(event.modelId(), event.publishId());
        finish(track, event.publishId());
    }

    private void fail(WeightEvent event, long bytes, String message) {
        metrics.versionsFailed.inc();
        store.recordError(event.modelId(), message);
        runtime.reporter().report(VersionState.FAILED, event.modelId(), event.version(), event.contentVersion(),
                event.step(), event.publishId(), bytes, 0, message);
    }

    private static void finish(ModelTrack track, String publishId) {
        track.finished.add(publishId);
        if (track.finished.size() > FINISHED_MEMORY) {
            track.finished.remove(track.finished.iterator().next());
        }
    }

    @Override
    public Collection<FlipCommittable> prepareCommit() {
        for (FlipCommittable c : toEmit) {
            Progress progress = track(c.modelId()).inFlight.get(c.publishId());
            if (progress != null) {
                progress.emitted = true;
            }
        }
        List<FlipCommittable> out = List.copyOf(toEmit);
        toEmit.clear();
        return out;
    }

    @Override
    public List<WriterState> snapshotState(long checkpointId) {
        List<WriterState.ModelState> states = new ArrayList<>();
        for (ModelTrack track : models.values()) {
            ModelStatus status = store.status(track.modelId);
            Set<String> resident = new LinkedHashSet<>();
            status.staged().forEach(s -> resident.add(s.publishId()));
            // Publishes the committer flipped (or the store dropped) are no longer in flight.
            track.inFlight.values().removeIf(p -> p.lost == null && !resident.contains(p.publishId));
            Optional<VersionInfo> active = status.active();
            if (active.isPresent()) {
                VersionInfo info = active.get();
                CommittedMeta meta = track.committedMeta.get(info.version());
                WriterState.CommittedVersion last = track.lastCommitted;
                if (meta == null && last != null && last.version() == info.version()) {
                    meta = new CommittedMeta(last.location(), last.manifest());
                }
                track.lastCommitted = new WriterState.CommittedVersion(info.publishId(), info.version(),
                        info.contentVersion(), info.step(), meta == null ? null : meta.location(),
                        meta == null ? null : meta.manifest());
                // Versions up to the active one are settled; only newer commits may still flip.
                track.committedMeta.headMap(info.version(), true).clear();
            }
            List<WriterState.PublishState> inFlight = new ArrayList<>();
            track.inFlight.values().forEach(p -> inFlight.add(p.snapshot()));
            states.add(new WriterState.ModelState(track.modelId, track.lastCommitted, inFlight));
        }
        return List.of(new WriterState(worker, states));
    }

    @Override
    public void flush(boolean endOfInput) {
        runtime.reporter().flush();
    }

    @Override
    public void close() {
        // The worker runtime (store, reporter, reference worker) stays: it serves the weights and lets a restarted
        // writer resume. WeightSink.release(name) frees it.
        runtime.reporter().flush();
    }

    private ModelTrack track(String modelId) {
        return models.computeIfAbsent(modelId, ModelTrack::new);
    }

    private static final class ModelTrack {
        final String modelId;
        final Map<String, Progress> inFlight = new LinkedHashMap<>();
        final Set<String> finished = new LinkedHashSet<>();
        /** Location and manifest of versions committed here by version, until the active version passes them. */
        final TreeMap<Long, CommittedMeta> committedMeta = new TreeMap<>();
        WriterState.CommittedVersion lastCommitted;

        ModelTrack(String modelId) {
            this.modelId = modelId;
        }
    }

    /** Where a committed version's chunks are in Kafka (encoded index entry) and its encoded manifest. */
    private record CommittedMeta(byte[] location, byte[] manifest) {}

    /** What this writer knows about one publish in flight. */
    private static final class Progress {
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
        /** Its encoded manifest once verified, to verify again after a restore re-read its bytes. */
        byte[] manifest;

        Progress(String modelId, String publishId, long step, long versionBytes, long stagedAtMillis) {
            this.modelId = modelId;
            this.publishId = publishId;
            this.step = step;
            this.versionBytes = versionBytes;
            this.stagedAtMillis = stagedAtMillis;
        }

        static Progress restore(int worker, String modelId, WriterState.PublishState saved) {
            Progress progress = new Progress(modelId, saved.publishId(), saved.step(), saved.versionBytes(),
                    saved.stagedAtMillis());
            saved.stagedBytes().forEach(r -> progress.stagedBytes.add(r.start(), r.end()));
            saved.chunkOffsets().forEach(r -> progress.chunkOffsets
                    .computeIfAbsent(r.partition(), p -> new RangeSet())
                    .add(r.firstOffset(), r.lastOffset() + 1));
            progress.bytesWritten = progress.stagedBytes.covered();
            if (saved.verifiedVersion() >= 0) {
                progress.committable = new FlipCommittable(worker, modelId, saved.publishId(), saved.verifiedVersion(),
                        saved.contentVersion(), saved.step(), saved.versionBytes(), saved.stagedAtMillis(), "");
                progress.manifest = saved.manifest();
                // It was verified before the checkpoint, so its committable is in that checkpoint.
                progress.emitted = true;
            }
            return progress;
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
                    committable == null ? null : manifest);
        }
    }
}
