package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.source.InputRecord;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * How a publish starts, completes as the model's next version, fails, is aborted or rejected, and
 * times out; and the status and dead-letter records that report it. Every publish that ends other
 * than published is aborted on the workers too: chunks reach them from the checkers, not through
 * the coordinator, so any publish the coordinator has heard of may have staged bytes there.
 */
final class PublishLifecycle {

    private final String chunksTopic;
    private final String manifestsTopic;
    private final String versionsTopic;
    private final long publishTimeoutMs;
    private final int retainedVersions;
    private final PublishChecks checks;
    private final AssemblerRecords records;
    private final AssemblerMetrics metrics;
    private final Set<String> inFlight;

    PublishLifecycle(TopicNames topics, long publishTimeoutMs, int retainedVersions, PublishChecks checks,
            AssemblerRecords records, AssemblerMetrics metrics, Set<String> inFlight) {
        this.chunksTopic = topics.chunks();
        this.manifestsTopic = topics.manifests();
        this.versionsTopic = topics.versions();
        this.publishTimeoutMs = publishTimeoutMs;
        this.retainedVersions = retainedVersions;
        this.checks = checks;
        this.records = records;
        this.metrics = metrics;
        this.inFlight = inFlight;
    }

    PublishAssembly start(CoordinatorContext ctx, String modelId, String publishId, long step, long versionBytes,
            int bucketCount) {
        long now = ctx.now();
        ctx.timerAt(now + publishTimeoutMs);
        inFlight.add(modelId + "/" + publishId);
        return new PublishAssembly(modelId, publishId, step, versionBytes, bucketCount, now);
    }

    /**
     * Rejects a new publish whose step is not after the model's watermark, or jumps too far past it
     * (that one is also quarantined, by {@code quarantine}: a wrong step, not a late one). True when rejected.
     */
    boolean rejectedByStep(CoordinatorContext ctx, ModelLedger ledger, String modelId, String publishId, long step,
            Consumer<String> quarantine) throws Exception {
        if (isStale(ledger, step)) {
            reject(ctx, ledger, modelId, publishId, step, staleReason(ledger, step));
            return true;
        }
        String jump = checks.stepJump(ledger, step).orElse(null);
        if (jump != null) {
            quarantine.accept(jump);
            reject(ctx, ledger, modelId, publishId, step, jump);
            return true;
        }
        return false;
    }

    /** Publishes the publish as the model's next version once its manifest and every chunk arrived. */
    void completeIfReady(CoordinatorContext ctx, ModelLedger ledger, PublishAssembly progress) throws Exception {
        if (progress.manifest == null || !progress.allChunksSeen()) {
            ctx.putPublish(progress);
            return;
        }
        // Checked again: the watermark may have moved (or appeared) since the publish started.
        String late = isStale(ledger, progress.step)
                ? staleReason(ledger, progress.step)
                : checks.stepJump(ledger, progress.step).orElse(null);
        if (late != null) {
            reject(ctx, ledger, progress.modelId, progress.publishId, progress.step, late);
            return;
        }
        VersionManifest manifest = decodeValidManifest(progress.manifest);
        long version = ++ledger.lastVersion;
        ledger.lastStep = progress.step;
        ledger.close(progress.publishId, VersionState.COMPLETED, version, "");
        ctx.updateLedger(ledger);
        ctx.removePublish(progress.publishId);
        inFlight.remove(progress.modelId + "/" + progress.publishId);

        List<KafkaOffsetRange> chunkRanges = new ArrayList<>();
        for (Map.Entry<Integer, long[]> range : progress.chunkRanges().entrySet()) {
            chunkRanges.add(new KafkaOffsetRange(
                    chunksTopic, range.getKey(), range.getValue()[0], range.getValue()[1]));
        }
        List<ByteBuffer> bucketDigests = new ArrayList<>();
        for (BucketInfo bucket : manifest.getBuckets()) {
            bucketDigests.add(bucket.getSha256());
        }
        VersionIndexEntry entry = VersionIndexEntry.newBuilder()
                .setModelId(progress.modelId)
                .setVersion(version)
                .setContentVersion(version)
                .setStep(progress.step)
                .setPublishId(progress.publishId)
                .setTotalBytes(progress.versionBytes)
                .setManifestSha256(ByteBuffer.wrap(sha256(progress.manifest)))
                .setManifestRange(new KafkaOffsetRange(
                        manifestsTopic, progress.manifestPartition, progress.manifestOffset, progress.manifestOffset))
                .setChunkRanges(chunkRanges)
                .setBucketSha256(bucketDigests)
                .setCompletedAtMs(ctx.now())
                .setReason("publish")
                .setKeyId(manifest.getKeyId())
                .build();
        long latencyMs = ctx.now() - progress.firstSeenMs;
        publishVersion(ctx, entry, progress.manifest, latencyMs);
        metrics.versionLatencyMs.update(latencyMs);
    }

    /** Tells the workers to commit, indexes the version, retains it for rollbacks and reports it. */
    void publishVersion(CoordinatorContext ctx, VersionIndexEntry entry, byte[] manifest, long durationMs)
            throws Exception {
        byte[] encodedEntry = WireCodec.VERSION_INDEX.encode(entry);
        ctx.emit(WeightEvent.commitVersion(entry.getModelId(), entry.getPublishId(), entry.getStep(),
                entry.getVersion(), entry.getContentVersion(), entry.getTotalBytes(), manifest, encodedEntry,
                entry.getReason()));
        ctx.outbound(OutboundRecord.of(versionsTopic,
                AssemblerRecords.utf8(entry.getModelId() + "/" + entry.getVersion()), encodedEntry));
        ctx.putRetained(entry.getVersion(), new RetainedVersion(encodedEntry, manifest));
        ctx.removeRetained(entry.getVersion() - retainedVersions);
        status(ctx, entry.getModelId(), entry.getPublishId(), entry.getStep(), entry.getVersion(),
                VersionState.COMPLETED, entry.getTotalBytes(), durationMs,
                entry.getContentVersion() == entry.getVersion()
                        ? "published"
                        : entry.getReason() + " (content of version " + entry.getContentVersion() + ")",
                entry.getContentVersion());
        metrics.versionsCompleted.inc();
    }

    /** Fails a publish in flight; {@code where} names the record that failed it. */
    void fail(CoordinatorContext ctx, ModelLedger ledger, PublishAssembly progress, String where, String reason)
            throws Exception {
        close(ctx, ledger, progress, VersionState.FAILED, where + ": " + reason);
        metrics.versionsFailed.inc();
    }

    /** Fails a publish not in flight, refused by its first record the coordinator saw. */
    void failUnstarted(CoordinatorContext ctx, ModelLedger ledger, String modelId, String publishId, long step,
            long bytes, String reason) throws Exception {
        abortOnWorkers(ctx, modelId, publishId, step, reason);
        ledger.close(publishId, VersionState.FAILED, -1, reason);
        ctx.updateLedger(ledger);
        status(ctx, modelId, publishId, step, -1, VersionState.FAILED, bytes, 0, reason);
        metrics.versionsFailed.inc();
    }

    void abort(CoordinatorContext ctx, ModelLedger ledger, PublishAssembly progress, String reason) throws Exception {
        close(ctx, ledger, progress, VersionState.ABORTED, reason);
        metrics.versionsAborted.inc();
    }

    private void close(CoordinatorContext ctx, ModelLedger ledger, PublishAssembly progress, VersionState state,
            String reason) throws Exception {
        ctx.emit(WeightEvent.abortVersion(progress.modelId, progress.publishId, progress.step, reason));
        ledger.close(progress.publishId, state, -1, reason);
        ctx.updateLedger(ledger);
        ctx.removePublish(progress.publishId);
        inFlight.remove(progress.modelId + "/" + progress.publishId);
        status(ctx, progress.modelId, progress.publishId, progress.step, -1, state, progress.stagedBytes,
                ctx.now() - progress.firstSeenMs, reason);
    }

    void reject(CoordinatorContext ctx, ModelLedger ledger, String modelId, String publishId, long step, String reason)
            throws Exception {
        abortOnWorkers(ctx, modelId, publishId, step, reason);
        ctx.removePublish(publishId);
        inFlight.remove(modelId + "/" + publishId);
        ledger.close(publishId, VersionState.REJECTED, -1, reason);
        ctx.updateLedger(ledger);
        status(ctx, modelId, publishId, step, -1, VersionState.REJECTED, 0, 0, reason);
        metrics.versionsRejected.inc();
    }

    /** Workers may hold chunks of any valid publish id: the checkers sent them before the coordinator judged. */
    private static void abortOnWorkers(CoordinatorContext ctx, String modelId, String publishId, long step,
            String reason) {
        if (!publishId.isEmpty() && publishId.length() <= PublishChecks.MAX_PUBLISH_ID_CHARS) {
            ctx.emit(WeightEvent.abortVersion(modelId, publishId, step, reason));
        }
    }

    /** Aborts every publish of the model that received no record for the timeout; re-arms the timer. */
    void expire(CoordinatorContext ctx) throws Exception {
        ModelLedger ledger = ctx.ledger();
        long now = ctx.now();
        long nextDue = Long.MAX_VALUE;
        List<PublishAssembly> expired = new ArrayList<>();
        for (PublishAssembly progress : ctx.publishes()) {
            long due = progress.lastSeenMs + publishTimeoutMs;
            if (due <= now) {
                expired.add(progress);
            } else {
                nextDue = Math.min(nextDue, due);
            }
        }
        for (PublishAssembly progress : expired) {
            long chunkTotal = progress.declaredChunks();
            abort(ctx, ledger, progress, String.format(
                    "timed out: no record for %d ms; %d chunks of %s seen, manifest %s", publishTimeoutMs,
                    progress.chunksSeen(), progress.manifest == null ? "an unknown number" : chunkTotal,
                    progress.manifest == null ? "missing" : "seen"));
        }
        if (nextDue != Long.MAX_VALUE) {
            ctx.timerAt(nextDue);
        }
    }

    /** Long.MIN_VALUE is "no watermark": before the first publish and after a reset that forgot it. */
    static boolean isStale(ModelLedger ledger, long step) {
        return ledger.lastStep != Long.MIN_VALUE && step <= ledger.lastStep;
    }

    private static String staleReason(ModelLedger ledger, long step) {
        return String.format("stale publish: trainer step %d is not after the model's step watermark %d (last "
                + "published version %d)", step, ledger.lastStep, ledger.lastVersion);
    }

    // ---------------------------------------------------------------- outputs

    void deadLetter(CoordinatorContext ctx, InputRecord record, String modelId, Long step, String publishId,
            String reason) {
        ctx.outbound(records.deadLetter(record, modelId, step, publishId, null, null, reason, ctx.now()));
        metrics.deadLetters.inc();
    }

    /** A chunk record's dead letter, from its receipt: coordinates and size, no raw bytes. */
    void deadLetter(CoordinatorContext ctx, ChunkReceipt chunk, String reason) {
        ctx.outbound(records.deadLetter(chunksTopic, chunk, reason, ctx.now()));
        metrics.deadLetters.inc();
    }

    void status(CoordinatorContext ctx, String modelId, String publishId, long step, long version, VersionState state,
            long bytes, long durationMs, String message) {
        status(ctx, modelId, publishId, step, version, state, bytes, durationMs, message, version);
    }

    void status(CoordinatorContext ctx, String modelId, String publishId, long step, long version, VersionState state,
            long bytes, long durationMs, String message, long contentVersion) {
        ctx.outbound(records.status(modelId, publishId, step, version, contentVersion, state, bytes, durationMs,
                message, ctx.now()));
    }

    private static VersionManifest decodeValidManifest(byte[] manifest) {
        try {
            return WireCodec.MANIFEST.decode(manifest);
        } catch (WireFormatException e) {
            throw new IllegalStateException("a manifest kept in state no longer decodes", e);
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
