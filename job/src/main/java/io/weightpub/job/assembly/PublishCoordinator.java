package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.source.InputRecord;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.signing.SignatureVerifier;

import java.util.Arrays;

/**
 * The per-model state machine of the job, fed with chunk receipts (never payload), manifests and
 * control records in any order. It tracks which chunks of which bucket of each publish have been
 * checked, checks each chunk against what the publish's earlier records said, drops duplicates, and
 * when a publish is complete makes it the model's next published version: the workers are told to
 * commit it and the version index gets an entry. A refused chunk fails its publish (a CRC-bad
 * duplicate of a chunk already counted only costs its dead letter); publishes that stop receiving
 * records time out; stale or duplicate publishes are rejected, and so are manifests and control
 * records its {@link SignatureVerifier} refuses (docs/security.md). Its state is metadata only.
 */
final class PublishCoordinator {

    private final PublishChecks checks;
    private final SignatureVerifier signatures;
    private final PublishLifecycle lifecycle;
    private final AssemblerMetrics metrics;

    PublishCoordinator(PublishChecks checks, SignatureVerifier signatures, PublishLifecycle lifecycle,
            AssemblerMetrics metrics) {
        this.checks = checks;
        this.signatures = signatures;
        this.lifecycle = lifecycle;
        this.metrics = metrics;
    }

    // ---------------------------------------------------------------- chunks

    void onChunk(CoordinatorContext ctx, ChunkReceipt chunk) throws Exception {
        metrics.chunksIn.inc();
        metrics.bytesIn.inc(chunk.payloadLength());
        ModelLedger ledger = ctx.ledger();
        if (isSettled(ctx, ledger, chunk)) {
            return;
        }
        PublishAssembly progress = ctx.publish(chunk.publishId());
        if (chunk.problem() != null) {
            onRefusedChunk(ctx, ledger, progress, chunk);
            return;
        }
        if (progress == null) {
            if (lifecycle.rejectedByStep(ctx, ledger, chunk.modelId(), chunk.publishId(), chunk.step(),
                    reason -> lifecycle.deadLetter(ctx, chunk, reason))) {
                return;
            }
            progress = lifecycle.start(ctx, chunk.modelId(), chunk.publishId(), chunk.step(), chunk.versionBytes(),
                    chunk.bucketCount());
        }
        String problem = checks.chunk(progress, chunk).orElse(null);
        if (problem != null) {
            lifecycle.deadLetter(ctx, chunk, problem);
            lifecycle.fail(ctx, ledger, progress, where(chunk), problem);
            return;
        }
        PublishAssembly.BucketProgress bucket = progress.bucket(chunk.bucketIndex());
        if (bucket == null) {
            bucket = new PublishAssembly.BucketProgress(chunk.bucketOffset(), chunk.bucketSize(), chunk.chunkCount());
            progress.addBucket(chunk.bucketIndex(), bucket);
        }
        progress.lastSeenMs = ctx.now();
        if (bucket.isSeen(chunk.chunkIndex())) {
            metrics.duplicateChunks.inc();
            ctx.putPublish(progress);
            return;
        }
        bucket.markSeen(chunk.chunkIndex());
        if (progress.chunkSize <= 0) {
            // At most limits.max-chunk-bytes: checked with the chunk's geometry.
            progress.chunkSize = (int) PublishChecks.impliedChunkSize(chunk);
        }
        progress.stagedBytes += chunk.payloadLength();
        progress.recordChunkOffset(chunk.partition(), chunk.offset());
        if (bucket.isComplete()) {
            // Workers hash the bucket once they hold it, while the next buckets still stream.
            ctx.emit(WeightEvent.bucketComplete(progress.modelId, progress.publishId, progress.step,
                    progress.versionBytes, chunk.bucketIndex(), bucket.offset, bucket.size));
        }
        lifecycle.completeIfReady(ctx, ledger, progress);
    }

    /**
     * A chunk its checker refused (and dead-lettered, and kept from the workers): its publish fails,
     * unless only its CRC is wrong and it duplicates a chunk already counted, whose staged copy stands.
     */
    private void onRefusedChunk(CoordinatorContext ctx, ModelLedger ledger, PublishAssembly progress,
            ChunkReceipt chunk) throws Exception {
        if (progress == null) {
            lifecycle.failUnstarted(ctx, ledger, chunk.modelId(), chunk.publishId(), chunk.step(), 0,
                    where(chunk) + ": " + chunk.problem());
            return;
        }
        PublishAssembly.BucketProgress bucket = progress.bucket(chunk.bucketIndex());
        if (chunk.crcMismatch() && checks.chunk(progress, chunk).isEmpty() && bucket != null
                && bucket.isSeen(chunk.chunkIndex())) {
            progress.lastSeenMs = ctx.now();
            ctx.putPublish(progress);
            return;
        }
        lifecycle.fail(ctx, ledger, progress, where(chunk), chunk.problem());
    }

    private static String where(ChunkReceipt chunk) {
        return String.format("bucket %d chunk %d at partition %d offset %d", chunk.bucketIndex(), chunk.chunkIndex(),
                chunk.partition(), chunk.offset());
    }

    /**
     * True when the chunk's publish already ended: chunks of a completed or rejected publish are
     * replays or producer retries and are dropped (counted); chunks of a failed or aborted one are
     * quarantined, unless their checker already did.
     */
    private boolean isSettled(CoordinatorContext ctx, ModelLedger ledger, ChunkReceipt chunk) {
        ModelLedger.Outcome outcome = ledger.outcomeOf(chunk.publishId());
        if (outcome == null) {
            return false;
        }
        if (outcome.state == VersionState.COMPLETED || outcome.state == VersionState.REJECTED) {
            metrics.duplicateChunks.inc();
        } else if (chunk.problem() == null) {
            lifecycle.deadLetter(ctx, chunk, "publish " + chunk.publishId() + " was " + outcome.state + " earlier: "
                    + outcome.reason);
        }
        return true;
    }

    // ---------------------------------------------------------------- manifests

    void onManifest(CoordinatorContext ctx, InputRecord record) throws Exception {
        String tooLarge = checks.manifestRecordSize(record.valueSize()).orElse(null);
        if (tooLarge != null) {
            lifecycle.deadLetter(ctx, record, null, null, null, tooLarge);
            return;
        }
        VersionManifest manifest;
        try {
            manifest = WireCodec.MANIFEST.decode(record.value());
        } catch (WireFormatException e) {
            lifecycle.deadLetter(ctx, record, null, null, null, "manifest record does not decode: " + e.getMessage());
            return;
        }
        String modelId = manifest.getModelId();
        String publishId = manifest.getPublishId();
        long step = manifest.getStep();
        if (!modelId.equals(record.modelKey())) {
            lifecycle.deadLetter(ctx, record, null, step, publishId, "Kafka key names model '" + record.modelKey()
                    + "' but the manifest of publish " + publishId + " names model '" + modelId + "'");
            return;
        }
        ModelLedger ledger = ctx.ledger();
        ModelLedger.Outcome outcome = ledger.outcomeOf(publishId);
        if (outcome != null) {
            if (outcome.state == VersionState.COMPLETED || outcome.state == VersionState.REJECTED) {
                metrics.duplicateChunks.inc();
            } else {
                lifecycle.deadLetter(ctx, record, record.modelKey(), step, publishId,
                        "publish " + publishId + " was " + outcome.state + " earlier: " + outcome.reason);
            }
            return;
        }
        String structural = checks.manifest(manifest).orElse(null);
        PublishAssembly progress = ctx.publish(publishId);
        if (structural != null) {
            String reason = "manifest of publish " + publishId + " is inconsistent: " + structural;
            lifecycle.deadLetter(ctx, record, modelId, step, publishId, reason);
            if (progress != null) {
                lifecycle.fail(ctx, ledger, progress, record.coordinates(), reason);
            } else {
                lifecycle.failUnstarted(ctx, ledger, modelId, publishId, step, manifest.getTotalBytes(), reason);
            }
            return;
        }
        String unsigned = signatures.checkManifest(manifest).orElse(null);
        if (unsigned != null) {
            // Chunks stream ahead of their manifest: workers may have staged some, and must drop them.
            lifecycle.deadLetter(ctx, record, modelId, step, publishId, unsigned);
            lifecycle.reject(ctx, ledger, modelId, publishId, step, unsigned);
            return;
        }
        if (progress == null) {
            if (lifecycle.rejectedByStep(ctx, ledger, modelId, publishId, step,
                    reason -> lifecycle.deadLetter(ctx, record, modelId, step, publishId, reason))) {
                return;
            }
            progress = lifecycle.start(ctx, modelId, publishId, step, manifest.getTotalBytes(),
                    manifest.getBuckets().size());
        }
        if (progress.manifest != null) {
            if (Arrays.equals(progress.manifest, record.value())) {
                metrics.duplicateChunks.inc();
            } else {
                failOnManifest(ctx, ledger, progress, record, "a second, different manifest for the same publish");
            }
            return;
        }
        String mismatch = PublishChecks.manifestAgainstProgress(progress, manifest).orElse(null);
        if (mismatch != null) {
            failOnManifest(ctx, ledger, progress, record, mismatch);
            return;
        }
        for (BucketInfo bucket : manifest.getBuckets()) {
            if (progress.bucket(bucket.getIndex()) == null) {
                progress.addBucket(bucket.getIndex(), new PublishAssembly.BucketProgress(
                        bucket.getOffset(), bucket.getSizeBytes(), bucket.getChunkCount()));
            }
        }
        progress.manifest = record.value();
        progress.chunkSize = manifest.getChunkSize();
        progress.manifestPartition = record.partition();
        progress.manifestOffset = record.offset();
        progress.lastSeenMs = ctx.now();
        lifecycle.completeIfReady(ctx, ledger, progress);
    }

    private void failOnManifest(CoordinatorContext ctx, ModelLedger ledger, PublishAssembly progress,
            InputRecord record, String reason) throws Exception {
        lifecycle.deadLetter(ctx, record, progress.modelId, progress.step, progress.publishId, reason);
        lifecycle.fail(ctx, ledger, progress, record.coordinates(), reason);
    }

    // ---------------------------------------------------------------- control

    void onControl(CoordinatorContext ctx, InputRecord record) throws Exception {
        ControlRecord control;
        try {
            control = WireCodec.CONTROL.decode(record.value());
        } catch (WireFormatException e) {
            lifecycle.deadLetter(ctx, record, null, null, null, "control record does not decode: " + e.getMessage());
            return;
        }
        if (!control.getModelId().equals(record.modelKey())) {
            lifecycle.deadLetter(ctx, record, null, null, null, "Kafka key names model '" + record.modelKey()
                    + "' but the control record names model '" + control.getModelId() + "'");
            return;
        }
        String unsigned = signatures.checkControl(control).orElse(null);
        if (unsigned != null) {
            lifecycle.deadLetter(ctx, record, control.getModelId(), null, control.getPublishId(), unsigned);
            lifecycle.status(ctx, control.getModelId(), control.getPublishId() == null ? "" : control.getPublishId(),
                    -1, -1, VersionState.REJECTED, 0, 0, "request " + control.getRequestId() + " refused: " + unsigned);
            metrics.versionsRejected.inc();
            return;
        }
        ModelLedger ledger = ctx.ledger();
        switch (control.getAction()) {
            case ABORT -> abortOnRequest(ctx, ledger, control);
            case ROLLBACK -> rollback(ctx, ledger, control);
            case RESET_STEP -> resetStep(ctx, ledger, control);
            default -> lifecycle.deadLetter(ctx, record, null, null, null,
                    "unknown control action " + control.getAction());
        }
    }

    private void abortOnRequest(CoordinatorContext ctx, ModelLedger ledger, ControlRecord control) throws Exception {
        String publishId = control.getPublishId() == null ? "" : control.getPublishId();
        PublishAssembly progress = ctx.publish(publishId);
        if (progress == null) {
            lifecycle.status(ctx, control.getModelId(), publishId, -1, -1, VersionState.REJECTED, 0, 0,
                    "abort request " + control.getRequestId() + ": publish '" + publishId
                            + "' is not in flight for model " + control.getModelId());
            return;
        }
        lifecycle.abort(ctx, ledger, progress, "aborted by request " + control.getRequestId()
                + (control.getReason().isEmpty() ? "" : ": " + control.getReason()));
    }

    private void rollback(CoordinatorContext ctx, ModelLedger ledger, ControlRecord control) throws Exception {
        Long target = control.getTargetVersion();
        RetainedVersion source = target == null ? null : ctx.retained(target);
        if (source == null) {
            lifecycle.status(ctx, control.getModelId(), "", -1, -1, VersionState.FAILED, 0, 0, String.format(
                    "rollback request %s: version %s of model %s is unknown or no longer retained by the job "
                            + "(last published version %d)", control.getRequestId(), target,
                    control.getModelId(), ledger.lastVersion));
            metrics.versionsFailed.inc();
            return;
        }
        VersionIndexEntry targetEntry = WireCodec.VERSION_INDEX.decode(source.indexEntry);
        long version = ++ledger.lastVersion;
        String reason = "rollback to version " + target + " by request " + control.getRequestId()
                + (control.getReason().isEmpty() ? "" : ": " + control.getReason());
        VersionIndexEntry entry = VersionIndexEntry.newBuilder(targetEntry)
                .setVersion(version)
                .setCompletedAtMs(ctx.now())
                .setReason(reason)
                .build();
        ctx.updateLedger(ledger);
        lifecycle.publishVersion(ctx, entry, source.manifest, 0);
        metrics.rollbacks.inc();
    }

    /** Moves or forgets the model's step watermark, so a publish with a wrong step cannot block it forever. */
    private void resetStep(CoordinatorContext ctx, ModelLedger ledger, ControlRecord control) throws Exception {
        long before = ledger.lastStep;
        Long step = control.getStep();
        ledger.lastStep = step == null ? Long.MIN_VALUE : step;
        ctx.updateLedger(ledger);
        RetainedVersion last = ctx.retained(ledger.lastVersion);
        long contentVersion = last == null
                ? ledger.lastVersion
                : WireCodec.VERSION_INDEX.decode(last.indexEntry).getContentVersion();
        String message = String.format("step watermark reset by request %s from %s to %s%s", control.getRequestId(),
                before == Long.MIN_VALUE ? "none" : String.valueOf(before),
                step == null ? "none (forgotten: the next publish may have any step)" : String.valueOf(step),
                control.getReason().isEmpty() ? "" : ": " + control.getReason());
        // COMPLETED with the model's current version, so readers of the status topic keep seeing it as current.
        lifecycle.status(ctx, control.getModelId(), "", step == null ? -1 : step,
                ledger.hasPublished() ? ledger.lastVersion : -1, VersionState.COMPLETED, 0, 0, message,
                ledger.hasPublished() ? contentVersion : -1);
    }
}
