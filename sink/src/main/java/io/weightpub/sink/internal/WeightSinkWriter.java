package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.sink.CommitMode;
import io.weightpub.sink.internal.InFlightPublishes.CommittedMeta;
import io.weightpub.sink.internal.InFlightPublishes.ModelTrack;
import io.weightpub.store.CommitOutcome;
import io.weightpub.store.ModelStatus;
import io.weightpub.store.VerifyResult;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.WeightStore;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One worker's sink writer: stages chunks into the worker's store, verifies a publish when its
 * commit arrives, then flips it at once ({@link CommitMode#IMMEDIATE}) or hands a committable to
 * the checkpoint ({@link CommitMode#ON_CHECKPOINT}). Nothing flips before its checkpoint completed
 * (in ON_CHECKPOINT mode): a commit that depends on a flip still waiting (a rollback to the active
 * bytes, a publish that needs the slot of a verified one) is held back, in order and in the state,
 * and retried once the committer has flipped. A commit that comes before the last chunks of its
 * publish (they travel from the job's checkers on other channels) is held until they are staged or
 * the next barrier ({@link ChunkWait}); chunks are staged by {@link ChunkStager}. A commit for bytes
 * it did not stage (a rollback, a publish whose slot was taken or never free) flips to a resident slot or re-reads the version
 * from Kafka ({@link VersionReplayer}). Every commit's manifest is checked against the sink's
 * publisher keys first, whatever path it takes. Its state is metadata only.
 */
@Internal
public final class WeightSinkWriter
        implements StatefulSinkWriter<WeightEvent, WriterState>, CommittingSinkWriter<WeightEvent, FlipCommittable> {

    private static final Logger LOG = LoggerFactory.getLogger(WeightSinkWriter.class);

    private final String sinkName;
    private final int worker;
    private final CommitMode commitMode;
    private final WorkerRuntime runtime;
    private final WeightStore store;
    private final SinkMetrics metrics;
    private final ShadowSlots slots;
    private final VersionReplayer replayer;
    private final ChunkStager stager;
    /** Defence in depth: the job checked the manifest too, but a worker must not trust the job's path. */
    private final SignatureVerifier signatures;
    private final InFlightPublishes publishes = new InFlightPublishes();
    private final List<FlipCommittable> toEmit = new ArrayList<>();
    /** Whether any model has held commits: skips the retry on the hot path when none. */
    private boolean anyHeld;

    public WeightSinkWriter(WorkerSettings sink, int worker, OptionalLong restoredCheckpoint,
            Collection<WriterState> restored, MetricGroup metricGroup) {
        this(sink, worker, WorkerRegistry.NO_JOB, restoredCheckpoint, restored, metricGroup);
    }

    /** A writer of job {@code jobId}: a worker runtime left by another job is released, one of this job reused. */
    public WeightSinkWriter(WorkerSettings sink, int worker, String jobId, OptionalLong restoredCheckpoint,
            Collection<WriterState> restored, MetricGroup metricGroup) {
        this.sinkName = sink.sinkName();
        this.worker = worker;
        this.commitMode = sink.commitMode();
        WorkerRegistry.Obtained obtained = WorkerRegistry.obtain(sinkName, worker, jobId,
                () -> WorkerRuntime.create(sink, worker));
        this.runtime = obtained.runtime();
        if (!obtained.created()) {
            runtime.serveHttp(sink);
        }
        this.store = runtime.store();
        this.metrics = new SinkMetrics(metricGroup, store);
        this.slots = new ShadowSlots(runtime);
        this.stager = new ChunkStager(runtime, slots, metrics);
        this.signatures = sink.signatures();
        this.replayer = new VersionReplayer(worker, runtime, sink.chunksTopic(), slots::claim,
                signatures);
        LOG.info("sink {} worker {}: {} store {}, commit {}{}", sinkName, worker,
                obtained.created() ? "new" : "resumed", store.describe(), commitMode,
                runtime.http() == null ? "" : ", reference worker at " + runtime.http().uri());
        for (WriterState state : restored) {
            replayer.restore(publishes, state, obtained.created(), restoredCheckpoint);
        }
        anyHeld = publishes.tracks().stream().anyMatch(t -> !t.held.isEmpty());
    }

    @Override
    public void write(WeightEvent event, Context context) {
        metrics.watch(event.modelId());
        retryHeld(false);
        switch (event.kind()) {
            case STAGE_CHUNK -> {
                stager.stage(publishes.track(event.modelId()), event);
                retryHeld(false); // it may have been the last chunk a held commit waited for
            }
            case COMMIT_VERSION -> commit(event);
            case ABORT_VERSION -> abortVersion(event);
            case BUCKET_COMPLETE -> stager.bucketComplete(publishes.track(event.modelId()), event);
        }
    }

    /** A commit, in order: held back behind the model's earlier held commits, or when it cannot be done now. */
    private void commit(WeightEvent event) {
        ModelTrack track = publishes.track(event.modelId());
        if (!track.held.isEmpty() || !tryCommit(track, event, false)) {
            hold(track, event);
        }
    }

    private void hold(ModelTrack track, WeightEvent event) {
        Optional<StagingProgress> waiting = track.waitingForCheckpoint(store.status(event.modelId()));
        boolean forChunks = waiting.isEmpty() && track.held.isEmpty()
                && ChunkWait.waiting(track, event, false, () -> activeVersion(event.modelId()));
        String why = waiting.map(p -> "version " + p.committable.version() + " (publish " + p.publishId
                        + ") waits for its checkpoint; it is applied after that flip")
                .orElse(forChunks
                        ? "waiting for chunks still in flight (they come from other checkers); it is applied once "
                                + "they are staged, or at the next checkpoint with what is missing re-read from Kafka"
                        : "earlier commits are held; it is applied after them");
        track.held.add(event);
        anyHeld = true;
        runtime.reporter().report(VersionState.STAGED, event.modelId(), event.version(), event.contentVersion(),
                event.step(), event.publishId(), 0, 0, "commit held: " + why);
    }

    /**
     * Retries held commits of models where no flip is waiting any more; they stay in order. At a
     * barrier ({@code atBarrier}) a commit waits for no more chunks: every chunk the job counted for
     * it came before the barrier (aligned checkpoints), so what is missing is re-read from Kafka.
     */
    private void retryHeld(boolean atBarrier) {
        if (!anyHeld) {
            return;
        }
        boolean stillHeld = false;
        for (ModelTrack track : publishes.tracks()) {
            while (!track.held.isEmpty()
                    && !ChunkWait.waiting(track, track.held.peek(), atBarrier, () -> activeVersion(track.modelId))
                    && track.waitingForCheckpoint(store.status(track.modelId)).isEmpty()
                    && tryCommit(track, track.held.peek(), atBarrier)) {
                track.held.poll();
            }
            stillHeld |= !track.held.isEmpty();
        }
        anyHeld = stillHeld;
    }

    /**
     * Verifies and commits; false (nothing changed) when it must wait for a flip still to come, or,
     * between barriers, for chunks still in flight.
     */
    private boolean tryCommit(ModelTrack track, WeightEvent event, boolean atBarrier) {
        if (ChunkWait.waiting(track, event, atBarrier, () -> activeVersion(event.modelId()))) {
            return false;
        }
        // Publishes the committer flipped since the last barrier must not look in flight.
        track.settle(store.status(event.modelId()));
        StagingProgress progress = track.inFlight.get(event.publishId());
        if (progress == null || progress.deferred) {
            return commitNotStaged(track, event, progress);
        }
        ChunkWait.rereadMissing(progress);
        if (progress.lost != null) {
            track.inFlight.remove(event.publishId());
            track.finish(event.publishId());
            fail(event, progress.versionBytes, "version " + event.version() + " cannot commit on worker " + worker
                    + ": " + progress.lost);
            return true;
        }
        VersionManifest manifest;
        try {
            manifest = WireCodec.MANIFEST.decode(event.manifest());
        } catch (WireFormatException e) {
            drop(track, event);
            fail(event, progress.versionBytes, "manifest of version " + event.version() + " does not decode: "
                    + e.getMessage());
            return true;
        }
        String refused = refusedManifest(event, manifest);
        if (refused != null) {
            drop(track, event);
            fail(event, progress.versionBytes, refused);
            return true;
        }
        if (progress.missedChunks > 0 || progress.missedUnknown) {
            try {
                replayer.refill(track, progress, event);
            } catch (ReplayException | WireFormatException | VersionReplayer.NoFreeSlotException e) {
                drop(track, event);
                fail(event, progress.versionBytes, "version " + event.version() + " cannot commit on worker " + worker
                        + ": the chunks it lacks (missed while no slot was free, or not received by the barrier) "
                        + "could not be re-read from Kafka: " + e.getMessage());
                return true;
            }
        }
        if (!progress.stagedBytes.covers(0, progress.versionBytes)) {
            drop(track, event);
            fail(event, progress.versionBytes, "version " + event.version() + " not committed on worker " + worker
                    + ": " + progress.stagedBytes.covered() + " of its " + progress.versionBytes + " bytes are staged");
            return true;
        }
        VerifyResult result = store.verify(event.modelId(), event.publishId(), manifest);
        if (!result.ok()) {
            drop(track, event);
            fail(event, progress.versionBytes, "version " + event.version() + " not committed: " + result.describe());
            return true;
        }
        metrics.versionsVerified.inc();
        runtime.reporter().report(VersionState.VERIFIED, event.modelId(), event.version(), event.contentVersion(),
                event.step(), event.publishId(), result.bytesVerified(), result.durationNanos() / 1_000_000,
                "every bucket digest matches the manifest on the slot's bytes");
        commitVerified(track, progress, event, "");
        return true;
    }

    /**
     * A commit for a publish whose chunks this writer did not stage: a rollback (the content of an
     * earlier version as a new version), a publish whose slot was taken or never free ({@code
     * deferred} is its progress then), or a version whose chunks it never received. Bytes that will
     * be resident when its committable is applied are flipped to; anything else is re-read from
     * Kafka by the version's offsets and verified. If that cannot be done the worker is left as it
     * was and the status says what is missing. False when it must wait for a flip still to come.
     */
    private boolean commitNotStaged(ModelTrack track, WeightEvent event, StagingProgress deferred) {
        String modelId = event.modelId();
        ModelStatus status = store.status(modelId);
        if (status.active().map(VersionInfo::version).orElse(-1L) >= event.version()) {
            return true; // replayed after a restore, already done
        }
        boolean rollback = event.contentVersion() != event.version();
        String what = rollback
                ? "rollback to version " + event.contentVersion()
                : "version " + event.version() + (deferred != null
                        ? " (deferred: no slot was free for its chunks on worker " + worker + ")"
                        : " (none of its chunks were staged on worker " + worker + ")");
        Optional<VersionInfo> active = status.active();
        boolean activeBytes = active.isPresent() && active.get().publishId().equals(event.publishId());
        if (activeBytes && track.waitingForCheckpoint(status).isPresent()) {
            // The bytes are active now, but a waiting flip will retire them before this committable applies.
            return false;
        }
        VersionIndexEntry location;
        VersionManifest manifest;
        try {
            location = VersionReplayer.decodeLocation(event.location(), what);
            manifest = VersionReplayer.decodeManifest(event.manifest(), what);
        } catch (WireFormatException e) {
            forget(track, deferred);
            fail(event, 0, what + " failed: " + e.getMessage() + "; nothing changed on worker " + worker);
            return true;
        }
        String refused = refusedManifest(event, manifest);
        if (refused != null) {
            forget(track, deferred);
            fail(event, 0, what + ": " + refused);
            return true;
        }
        StagingProgress progress = new StagingProgress(modelId, event.publishId(), event.step(), event.versionBytes(),
                System.currentTimeMillis());
        String origin;
        if (activeBytes) {
            origin = what + " (resident flip: its bytes are the active ones)";
        } else if (store.stageResident(modelId, event.publishId()).isPresent()) {
            origin = what + " (resident flip)";
            metrics.residentFlips.inc();
        } else {
            try {
                VersionReplayer.Replayed replayed = replayer.replayVersion(track, event.publishId(), event.step(),
                        event.versionBytes(), location.getChunkRanges(), manifest);
                progress = replayed.progress();
                metrics.bytesReplayed.inc(replayed.stats().payloadBytes());
                metrics.versionsVerified.inc();
                origin = what + " (" + replayed.describe() + ")";
                runtime.reporter().report(VersionState.VERIFIED, modelId, event.version(), event.contentVersion(),
                        event.step(), event.publishId(), replayed.stats().payloadBytes(),
                        replayed.stats().nanos() / 1_000_000, origin + "; every bucket digest matches the manifest");
            } catch (VersionReplayer.NoFreeSlotException e) {
                return false;
            } catch (ReplayException e) {
                forget(track, deferred);
                fail(event, 0, what + " failed, nothing changed on worker " + worker + ": " + e.getMessage());
                return true;
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
        return true;
    }

    /** Why this worker must not serve the commit's manifest, or null when it may. */
    private String refusedManifest(WeightEvent event, VersionManifest manifest) {
        return signatures.checkManifest(manifest).map(reason -> "version " + event.version() + " refused on worker "
                + worker + ", nothing changed: " + reason).orElse(null);
    }

    private static void forget(ModelTrack track, StagingProgress deferred) {
        if (deferred != null) {
            track.inFlight.remove(deferred.publishId);
            track.finish(deferred.publishId);
        }
    }

    /** Flips a verified publish at once (IMMEDIATE) or hands its committable to the next checkpoint. */
    private void commitVerified(ModelTrack track, StagingProgress progress, WeightEvent event, String origin) {
        progress.manifest = event.manifest();
        track.committedMeta.put(event.version(), new CommittedMeta(event.location(), event.manifest()));
        FlipCommittable committable = new FlipCommittable(worker, event.modelId(), event.publishId(),
                event.version(), event.contentVersion(), event.step(), progress.versionBytes, progress.stagedAtMillis,
                origin);
        if (commitMode == CommitMode.IMMEDIATE) {
            CommitOutcome outcome = Flips.flip(runtime, committable, "immediate commit");
            if (outcome != CommitOutcome.NOT_VERIFIED) {
                track.inFlight.remove(event.publishId());
                track.finish(event.publishId());
            }
        } else {
            progress.committable = committable;
            toEmit.add(committable);
        }
    }

    private void abortVersion(WeightEvent event) {
        ModelTrack track = publishes.track(event.modelId());
        StagingProgress progress = track.inFlight.remove(event.publishId());
        // Chunks of it may still come from checkers that sent them before the coordinator decided.
        track.finish(event.publishId());
        if (progress == null) {
            return;
        }
        store.abort(event.modelId(), event.publishId());
        if (progress.committable != null) {
            toEmit.remove(progress.committable);
        }
        track.finish(event.publishId());
        runtime.reporter().report(VersionState.ABORTED, event.modelId(), -1, -1, event.step(), event.publishId(),
                progress.bytesWritten, System.currentTimeMillis() - progress.stagedAtMillis,
                "aborted by the job: " + event.reason());
    }

    private void drop(ModelTrack track, WeightEvent event) {
        track.inFlight.remove(event.publishId());
        store.abort(event.modelId(), event.publishId());
        track.finish(event.publishId());
    }

    private long activeVersion(String modelId) {
        return store.status(modelId).active().map(VersionInfo::version).orElse(-1L);
    }

    private void fail(WeightEvent event, long bytes, String message) {
        metrics.versionsFailed.inc();
        store.recordError(event.modelId(), message);
        runtime.reporter().report(VersionState.FAILED, event.modelId(), event.version(), event.contentVersion(),
                event.step(), event.publishId(), bytes, 0, message);
    }

    @Override
    public Collection<FlipCommittable> prepareCommit() {
        // The committer may have flipped since the last event: held commits may go out with this barrier.
        retryHeld(true);
        for (FlipCommittable c : toEmit) {
            StagingProgress progress = publishes.track(c.modelId()).inFlight.get(c.publishId());
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
        for (ModelTrack track : publishes.tracks()) {
            ModelStatus status = store.status(track.modelId);
            track.settle(status);
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
            states.add(new WriterState.ModelState(track.modelId, track.lastCommitted, inFlight,
                    List.copyOf(track.held)));
        }
        return List.of(new WriterState(worker, states));
    }

    @Override
    public void flush(boolean endOfInput) {
        if (endOfInput) {
            // A bounded input ended (a test, a benchmark): its weights stay served after the job, until release.
            runtime.keepAfterInput();
        }
        runtime.reporter().flush();
    }

    @Override
    public void close() {
        // The worker's store and reporter stay: a writer restarted within the job resumes with them. They are
        // released when the job leaves this TaskManager (the hook WeightSink registers). The reference worker
        // stops unless the input ended, so a fixed port is free for the restarted task wherever it runs.
        if (!runtime.keptAfterInput()) {
            runtime.stopHttp();
        }
        runtime.reporter().flush();
    }
}
