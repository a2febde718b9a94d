package io.weightpub.sink.internal;

import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.sink.CommitMode;
import io.weightpub.sink.CommitOutcome;
import io.weightpub.sink.ModelStatus;
import io.weightpub.sink.ReferenceWorker;
import io.weightpub.sink.SlotsExhaustedException;
import io.weightpub.sink.StagedPublish;
import io.weightpub.sink.VerifyResult;
import io.weightpub.sink.VersionInfo;
import io.weightpub.sink.WeightEvent;
import io.weightpub.sink.WeightSink;
import io.weightpub.sink.WeightStore;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;

/**
 * One worker's sink writer: stages chunks into the worker's store, verifies a publish when its
 * commit arrives, then flips it at once ({@link CommitMode#IMMEDIATE}) or hands a committable to
 * the checkpoint ({@link CommitMode#ON_CHECKPOINT}). Its state is metadata only.
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
    private final Map<String, ModelTrack> models = new HashMap<>();
    private final List<FlipCommittable> toEmit = new ArrayList<>();

    public WeightSinkWriter(WeightSink sink, int worker, OptionalLong restoredCheckpoint,
            Collection<WriterState> restored) {
        this.sinkName = sink.name();
        this.worker = worker;
        this.commitMode = sink.commitMode();
        WorkerRegistry.Obtained obtained = WorkerRegistry.obtain(sinkName, worker, () -> createRuntime(sink, worker));
        this.runtime = obtained.runtime();
        this.store = runtime.store();
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
            return new WorkerRuntime(sink.name(), worker, store, reporter, http);
        } catch (RuntimeException e) {
            if (reporter != null) {
                reporter.close();
            }
            store.close();
            throw e;
        }
    }

    private void restore(WriterState state, boolean storeIsNew, OptionalLong checkpoint) {
        String from = "the restore from checkpoint " + (checkpoint.isPresent() ? checkpoint.getAsLong() : "?");
        for (WriterState.ModelState saved : state.models()) {
            ModelTrack track = track(saved.modelId());
            track.lastCommitted = saved.lastCommitted();
            ModelStatus status = store.status(saved.modelId());
            WriterState.CommittedVersion last = saved.lastCommitted();
            if (last != null && status.active().map(VersionInfo::version).orElse(-1L) < last.version()) {
                String message = "version " + last.version() + " (publish " + last.publishId() + ") of model "
                        + saved.modelId() + " was active on worker " + worker + " before " + from
                        + " but is not resident" + (storeIsNew ? " (the worker's store was lost)" : "")
                        + "; nothing is served for this model until its bytes are re-read from Kafka or a new "
                        + "version commits";
                store.recordError(saved.modelId(), message);
                runtime.reporter().report(VersionState.FAILED, saved.modelId(), last.version(), last.contentVersion(),
                        last.step(), last.publishId(), 0, 0, message);
            }
            Set<String> resident = new LinkedHashSet<>();
            status.staged().forEach(s -> resident.add(s.publishId()));
            for (WriterState.PublishState publish : saved.inFlight()) {
                Progress progress = Progress.restore(worker, saved.modelId(), publish);
                if (!resident.contains(publish.publishId())) {
                    progress.lost = publish.stagedByteCount() + " of " + publish.versionBytes() + " bytes staged before "
                            + from + " are not resident (chunks at " + publish.chunkOffsets() + ")";
                    String message = "publish " + publish.publishId() + " of model " + saved.modelId() + ": "
                            + progress.lost + "; it cannot commit on worker " + worker + " until they are re-read";
                    store.recordError(saved.modelId(), message);
                    runtime.reporter().report(VersionState.FAILED, saved.modelId(), publish.verifiedVersion(),
                            publish.contentVersion(), publish.step(), publish.publishId(), publish.versionBytes(), 0,
                            message);
                }
                track.inFlight.put(publish.publishId(), progress);
            }
        }
    }

    @Override
    public void write(WeightEvent event, Context context) {
        switch (event.kind()) {
            case STAGE_CHUNK -> stageChunk(event);
            case COMMIT_VERSION -> commitVersion(event);
            case ABORT_VERSION -> abortVersion(event);
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
        byte[] payload = event.payload();
        store.write(event.modelId(), event.publishId(), event.versionOffset(), payload, 0, payload.length);
        progress.record(event);
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
            long active = store.status(event.modelId()).active().map(VersionInfo::version).orElse(-1L);
            if (track.finished.contains(event.publishId()) || active >= event.version()) {
                return; // replayed after a restore, already done
            }
            fail(event, 0, "commit of version " + event.version() + " arrived but no chunk of publish "
                    + event.publishId() + " was staged on worker " + worker);
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
        runtime.reporter().report(VersionState.VERIFIED, event.modelId(), event.version(), event.contentVersion(),
                event.step(), event.publishId(), result.bytesVerified(), result.durationNanos() / 1_000_000,
                "every bucket digest matches the manifest on the slot's bytes");
        FlipCommittable committable = new FlipCommittable(worker, event.modelId(), event.publishId(),
                event.version(), event.contentVersion(), event.step(), progress.versionBytes, progress.stagedAtMillis);
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
                track.lastCommitted = new WriterState.CommittedVersion(info.publishId(), info.version(),
                        info.contentVersion(), info.step());
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
        WriterState.CommittedVersion lastCommitted;

        ModelTrack(String modelId) {
            this.modelId = modelId;
        }
    }

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
                        saved.contentVersion(), saved.step(), saved.versionBytes(), saved.stagedAtMillis());
                // It was verified before the checkpoint, so its committable is in that checkpoint.
                progress.emitted = true;
            }
            return progress;
        }

        void record(WeightEvent chunk) {
            bytesWritten += chunk.payload().length;
            stagedBytes.add(chunk.versionOffset(), chunk.versionOffset() + chunk.payload().length);
            if (chunk.sourcePartition() >= 0 && chunk.sourceOffset() >= 0) {
                chunkOffsets.computeIfAbsent(chunk.sourcePartition(), p -> new RangeSet())
                        .add(chunk.sourceOffset(), chunk.sourceOffset() + 1);
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
                    committable == null ? -1 : committable.contentVersion(), stagedAtMillis, bytes, sources);
        }
    }
}
