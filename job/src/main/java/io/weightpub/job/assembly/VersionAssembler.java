package io.weightpub.job.assembly;

import io.weightpub.job.internal.VersionedStateSerializer;
import io.weightpub.job.source.InputRecord;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.ChunkView;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.sink.WeightEvent;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Reassembles publishes per model (the key) from chunks, manifests and control records arriving in
 * any order. It checks every chunk (decoding, sizes against the other chunks and the manifest,
 * CRC32C), drops duplicates, and forwards each new chunk at once as a {@link WeightEvent} to the
 * sink; its state holds metadata only. When a publish is complete it becomes the model's next
 * published version: the sink is told to commit it and the version index gets an entry. Bad input
 * is quarantined on the dead-letter topic and fails its publish; publishes that stop receiving
 * records are aborted after a timeout; stale or duplicate publishes are rejected, and so are
 * manifests and control records its {@link SignatureVerifier} refuses (docs/security.md).
 */
public final class VersionAssembler extends KeyedProcessFunction<String, InputRecord, WeightEvent> {

    private static final long serialVersionUID = 1L;

    /** Records for the status, versions and dead-letter topics. */
    public static final OutputTag<Tuple3<String, byte[], byte[]>> OUTBOUND =
            new OutputTag<>("outbound", OutboundRecord.TYPE_INFO);

    /** Longest model id; longer text fields of dead letters and status records are cut to {@link #MAX_TEXT_CHARS}. */
    static final int MAX_ID_CHARS = 256;

    static final int MAX_TEXT_CHARS = 1024;

    /** Worker id in status records written by the job rather than by a sink subtask. */
    public static final int JOB_WORKER = -1;

    private final String chunksTopic;
    private final String manifestsTopic;
    private final String statusTopic;
    private final String versionsTopic;
    private final String deadLetterTopic;
    private final long publishTimeoutMs;
    private final int retainedVersions;
    private final int deadLetterMaxRawBytes;
    private final PublishChecks checks;
    private final SignatureVerifier signatures;

    private transient ValueState<ModelLedger> ledgerState;
    private transient MapState<String, PublishProgress> publishes;
    private transient MapState<Long, RetainedVersion> retained;
    private transient Set<String> inFlight;
    private transient AssemblerMetrics metrics;
    private transient AssemblerRecords records;

    /** An assembler with the {@link PublishLimits#defaults() default limits}. */
    public VersionAssembler(TopicNames topics, long publishTimeoutMs, int retainedVersions, int deadLetterMaxRawBytes) {
        this(topics, publishTimeoutMs, retainedVersions, deadLetterMaxRawBytes, PublishLimits.defaults());
    }

    public VersionAssembler(TopicNames topics, long publishTimeoutMs, int retainedVersions, int deadLetterMaxRawBytes,
            PublishLimits limits) {
        this(topics, publishTimeoutMs, retainedVersions, deadLetterMaxRawBytes, limits,
                SignatureVerifier.acceptingAll());
    }

    /** An assembler that serves only manifests and obeys only control records {@code signatures} accepts. */
    public VersionAssembler(TopicNames topics, long publishTimeoutMs, int retainedVersions, int deadLetterMaxRawBytes,
            PublishLimits limits, SignatureVerifier signatures) {
        if (publishTimeoutMs <= 0 || retainedVersions < 1 || deadLetterMaxRawBytes < 0) {
            throw new IllegalArgumentException(String.format(
                    "publish timeout %d ms must be positive, retained versions %d at least 1, "
                            + "dead-letter raw bytes %d not negative",
                    publishTimeoutMs, retainedVersions, deadLetterMaxRawBytes));
        }
        this.chunksTopic = topics.chunks();
        this.manifestsTopic = topics.manifests();
        this.statusTopic = topics.status();
        this.versionsTopic = topics.versions();
        this.deadLetterTopic = topics.deadLetters();
        this.publishTimeoutMs = publishTimeoutMs;
        this.retainedVersions = retainedVersions;
        this.deadLetterMaxRawBytes = deadLetterMaxRawBytes;
        this.checks = new PublishChecks(java.util.Objects.requireNonNull(limits, "limits"));
        this.signatures = java.util.Objects.requireNonNull(signatures, "signatures");
    }

    @Override
    public void open(OpenContext openContext) {
        ledgerState = getRuntimeContext().getState(new ValueStateDescriptor<>(
                "model-ledger", new VersionedStateSerializer<>(ModelLedgerSerializer.class)));
        publishes = getRuntimeContext().getMapState(new MapStateDescriptor<>(
                "publishes-in-flight",
                StringSerializer.INSTANCE,
                new VersionedStateSerializer<>(PublishProgressSerializer.class)));
        retained = getRuntimeContext().getMapState(new MapStateDescriptor<>(
                "retained-versions",
                LongSerializer.INSTANCE,
                new VersionedStateSerializer<>(RetainedVersionSerializer.class)));
        inFlight = new HashSet<>();
        metrics = new AssemblerMetrics(getRuntimeContext().getMetricGroup(), inFlight);
        records = new AssemblerRecords(statusTopic, deadLetterTopic, deadLetterMaxRawBytes);
    }

    @Override
    public void processElement(InputRecord record, Context ctx, Collector<WeightEvent> out) throws Exception {
        if (record.modelKey().length() > MAX_ID_CHARS) {
            // Model ids key the job's state and every output record: one must fit a Kafka record.
            deadLetter(ctx, record, null, "Kafka key names a model id of " + record.modelKey().length()
                    + " characters; at most " + MAX_ID_CHARS);
            return;
        }
        switch (record.kind()) {
            case CHUNK:
                onChunk(record, ctx, out);
                break;
            case MANIFEST:
                onManifest(record, ctx, out);
                break;
            case CONTROL:
                onControl(record, ctx, out);
                break;
            default:
                throw new IllegalStateException("unknown input kind " + record.kind());
        }
    }

    // ---------------------------------------------------------------- chunks

    private void onChunk(InputRecord record, Context ctx, Collector<WeightEvent> out) throws Exception {
        metrics.chunksIn.inc();
        metrics.bytesIn.inc(record.valueSize());
        ChunkView chunk;
        try {
            chunk = ChunkView.parse(record.value());
        } catch (WireFormatException e) {
            deadLetter(ctx, record, null, "chunk record does not decode: " + e.getMessage());
            return;
        }
        if (!chunk.modelId().equals(record.modelKey())) {
            deadLetter(ctx, record, chunk, "Kafka key names model '" + record.modelKey()
                    + "' but the chunk names model '" + chunk.modelId() + "'");
            return;
        }
        ModelLedger ledger = ledger();
        if (isSettled(ledger, chunk.publishId(), chunk.step(), record, chunk, ctx)) {
            return;
        }
        PublishProgress progress = publishes.get(chunk.publishId());
        if (progress == null) {
            String problem = checks.newPublish(chunk).orElse(null);
            if (problem != null) {
                deadLetter(ctx, record, chunk, problem);
                ledger.close(chunk.publishId(), VersionState.FAILED, -1, problem);
                ledgerState.update(ledger);
                status(ctx, chunk.modelId(), chunk.publishId(), chunk.step(), -1, VersionState.FAILED, 0, 0,
                        problem);
                metrics.versionsFailed.inc();
                return;
            }
            if (rejectedByStep(ctx, out, ledger, record, chunk.modelId(), chunk.publishId(), chunk.step())) {
                return;
            }
            progress = startPublish(ctx, chunk.modelId(), chunk.publishId(), chunk.step(),
                    chunk.versionBytes(), chunk.bucketCount());
        }
        String problem = checks.chunk(progress, chunk).orElse(null);
        if (problem != null) {
            failPublish(ctx, out, ledger, progress, record, chunk, problem);
            return;
        }
        PublishProgress.BucketProgress bucket = progress.bucket(chunk.bucketIndex());
        if (bucket == null) {
            bucket = new PublishProgress.BucketProgress(
                    chunk.bucketOffset(), chunk.bucketSize(), chunk.chunkCount());
            progress.addBucket(chunk.bucketIndex(), bucket);
        }
        progress.lastSeenMs = ctx.timerService().currentProcessingTime();
        int crc = crc32c(chunk);
        if (bucket.isSeen(chunk.chunkIndex())) {
            if (crc != chunk.crc32c()) {
                // The staged copy stands (replay keeps it too); the corrupted one is still quarantined.
                deadLetter(ctx, record, chunk, String.format("duplicate of a chunk already staged, with a CRC32C "
                        + "mismatch: the record says %08x, its %d payload bytes have %08x; the staged copy stands",
                        chunk.crc32c(), chunk.payloadLength(), crc));
            } else {
                metrics.duplicateChunks.inc();
            }
            publishes.put(progress.publishId, progress);
            return;
        }
        if (crc != chunk.crc32c()) {
            failPublish(ctx, out, ledger, progress, record, chunk, String.format(
                    "CRC32C mismatch: the record says %08x, its %d payload bytes have %08x",
                    chunk.crc32c(), chunk.payloadLength(), crc));
            return;
        }
        bucket.markSeen(chunk.chunkIndex());
        if (progress.chunkSize <= 0) {
            // At most limits.max-chunk-bytes: checked with the chunk's geometry.
            progress.chunkSize = (int) PublishChecks.impliedChunkSize(chunk);
        }
        progress.stagedBytes += chunk.payloadLength();
        progress.recordChunkOffset(record.partition(), record.offset());
        // The payload stays inside the record's value: no copy between Kafka and the sink's slot.
        out.collect(WeightEvent.stageChunk(progress.modelId, progress.publishId, progress.step,
                progress.versionBytes, chunk.versionOffset(), chunk.bucketIndex(), chunk.chunkIndex(),
                record.partition(), record.offset(), chunk.payload(), chunk.payloadOffset(), chunk.payloadLength()));
        if (bucket.isComplete()) {
            // Workers hash the bucket now, while the next buckets still stream.
            out.collect(WeightEvent.bucketComplete(progress.modelId, progress.publishId, progress.step,
                    progress.versionBytes, chunk.bucketIndex(), bucket.offset, bucket.size));
        }
        completeIfReady(ctx, out, ledger, progress);
    }

    // ---------------------------------------------------------------- manifests

    private void onManifest(InputRecord record, Context ctx, Collector<WeightEvent> out) throws Exception {
        String tooLarge = checks.manifestRecordSize(record.valueSize()).orElse(null);
        if (tooLarge != null) {
            deadLetter(ctx, record, null, tooLarge);
            return;
        }
        VersionManifest manifest;
        try {
            manifest = WireCodec.MANIFEST.decode(record.value());
        } catch (WireFormatException e) {
            deadLetter(ctx, record, null, "manifest record does not decode: " + e.getMessage());
            return;
        }
        if (!manifest.getModelId().equals(record.modelKey())) {
            deadLetter(ctx, record, null, manifest.getStep(), manifest.getPublishId(), null, null,
                    "Kafka key names model '" + record.modelKey() + "' but the manifest of publish " + manifest.getPublishId() + " names model '"
                    + manifest.getModelId() + "'");
            return;
        }
        ModelLedger ledger = ledger();
        if (isSettled(ledger, manifest.getPublishId(), manifest.getStep(), record, null, ctx)) {
            return;
        }
        String structural = checks.manifest(manifest).orElse(null);
        PublishProgress progress = publishes.get(manifest.getPublishId());
        if (structural != null) {
            String reason = "manifest of publish " + manifest.getPublishId() + " is inconsistent: " + structural;
            if (progress != null) {
                failPublish(ctx, out, ledger, progress, record, null, reason);
            } else {
                deadLetter(ctx, record, manifest.getModelId(), manifest.getStep(), manifest.getPublishId(), null,
                        null, reason);
                ledger.close(manifest.getPublishId(), VersionState.FAILED, -1, reason);
                ledgerState.update(ledger);
                status(ctx, manifest.getModelId(), manifest.getPublishId(), manifest.getStep(), -1,
                        VersionState.FAILED, manifest.getTotalBytes(), 0, reason);
                metrics.versionsFailed.inc();
            }
            return;
        }
        String unsigned = signatures.checkManifest(manifest).orElse(null);
        if (unsigned != null) {
            // Chunks stream ahead of their manifest: workers may have staged some, and must drop them.
            deadLetter(ctx, record, manifest.getModelId(), manifest.getStep(), manifest.getPublishId(), null, null,
                    unsigned);
            reject(ctx, out, ledger, manifest.getModelId(), manifest.getPublishId(), manifest.getStep(),
                    progress != null, unsigned);
            return;
        }
        if (progress == null) {
            if (rejectedByStep(ctx, out, ledger, record, manifest.getModelId(), manifest.getPublishId(),
                    manifest.getStep())) {
                return;
            }
            progress = startPublish(ctx, manifest.getModelId(), manifest.getPublishId(), manifest.getStep(),
                    manifest.getTotalBytes(), manifest.getBuckets().size());
        }
        if (progress.manifest != null) {
            if (java.util.Arrays.equals(progress.manifest, record.value())) {
                metrics.duplicateChunks.inc();
            } else {
                failPublish(ctx, out, ledger, progress, record, null,
                        "a second, different manifest for the same publish");
            }
            return;
        }
        String mismatch = PublishChecks.manifestAgainstProgress(progress, manifest).orElse(null);
        if (mismatch != null) {
            failPublish(ctx, out, ledger, progress, record, null, mismatch);
            return;
        }
        for (BucketInfo bucket : manifest.getBuckets()) {
            if (progress.bucket(bucket.getIndex()) == null) {
                progress.addBucket(bucket.getIndex(), new PublishProgress.BucketProgress(
                        bucket.getOffset(), bucket.getSizeBytes(), bucket.getChunkCount()));
            }
        }
        progress.manifest = record.value();
        progress.chunkSize = manifest.getChunkSize();
        progress.manifestPartition = record.partition();
        progress.manifestOffset = record.offset();
        progress.lastSeenMs = ctx.timerService().currentProcessingTime();
        completeIfReady(ctx, out, ledger, progress);
    }

    // ---------------------------------------------------------------- control

    private void onControl(InputRecord record, Context ctx, Collector<WeightEvent> out) throws Exception {
        ControlRecord control;
        try {
            control = WireCodec.CONTROL.decode(record.value());
        } catch (WireFormatException e) {
            deadLetter(ctx, record, null, "control record does not decode: " + e.getMessage());
            return;
        }
        if (!control.getModelId().equals(record.modelKey())) {
            deadLetter(ctx, record, null, "Kafka key names model '" + record.modelKey()
                    + "' but the control record names model '" + control.getModelId() + "'");
            return;
        }
        String unsigned = signatures.checkControl(control).orElse(null);
        if (unsigned != null) {
            deadLetter(ctx, record, control.getModelId(), null, control.getPublishId(), null, null, unsigned);
            status(ctx, control.getModelId(), control.getPublishId() == null ? "" : control.getPublishId(), -1, -1,
                    VersionState.REJECTED, 0, 0, "request " + control.getRequestId() + " refused: " + unsigned);
            metrics.versionsRejected.inc();
            return;
        }
        ModelLedger ledger = ledger();
        switch (control.getAction()) {
            case ABORT:
                abortOnRequest(ctx, out, ledger, control);
                break;
            case ROLLBACK:
                rollback(ctx, out, ledger, control);
                break;
            case RESET_STEP:
                resetStep(ctx, ledger, control);
                break;
            default:
                deadLetter(ctx, record, null, "unknown control action " + control.getAction());
        }
    }

    private void abortOnRequest(Context ctx, Collector<WeightEvent> out, ModelLedger ledger, ControlRecord control)
            throws Exception {
        String publishId = control.getPublishId() == null ? "" : control.getPublishId();
        PublishProgress progress = publishes.get(publishId);
        if (progress == null) {
            status(ctx, control.getModelId(), publishId, -1, -1, VersionState.REJECTED, 0, 0,
                    "abort request " + control.getRequestId() + ": publish '" + publishId
                            + "' is not in flight for model " + control.getModelId());
            return;
        }
        abort(ctx, out, ledger, progress, "aborted by request " + control.getRequestId()
                + (control.getReason().isEmpty() ? "" : ": " + control.getReason()));
    }

    private void rollback(Context ctx, Collector<WeightEvent> out, ModelLedger ledger, ControlRecord control)
            throws Exception {
        Long target = control.getTargetVersion();
        RetainedVersion source = target == null ? null : retained.get(target);
        if (source == null) {
            status(ctx, control.getModelId(), "", -1, -1, VersionState.FAILED, 0, 0, String.format(
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
                .setCompletedAtMs(ctx.timerService().currentProcessingTime())
                .setReason(reason)
                .build();
        ledgerState.update(ledger);
        publishVersion(ctx, out, entry, source.manifest, 0);
        metrics.rollbacks.inc();
    }

    /** Moves or forgets the model's step watermark, so a publish with a wrong step cannot block it forever. */
    private void resetStep(Context ctx, ModelLedger ledger, ControlRecord control) throws Exception {
        long before = ledger.lastStep;
        Long step = control.getStep();
        ledger.lastStep = step == null ? Long.MIN_VALUE : step;
        ledgerState.update(ledger);
        RetainedVersion last = retained.get(ledger.lastVersion);
        long contentVersion = last == null
                ? ledger.lastVersion
                : WireCodec.VERSION_INDEX.decode(last.indexEntry).getContentVersion();
        String message = String.format("step watermark reset by request %s from %s to %s%s", control.getRequestId(),
                before == Long.MIN_VALUE ? "none" : String.valueOf(before),
                step == null ? "none (forgotten: the next publish may have any step)" : String.valueOf(step),
                control.getReason().isEmpty() ? "" : ": " + control.getReason());
        // COMPLETED with the model's current version, so readers of the status topic keep seeing it as current.
        status(ctx, control.getModelId(), "", step == null ? -1 : step,
                ledger.hasPublished() ? ledger.lastVersion : -1, VersionState.COMPLETED, 0, 0, message,
                ledger.hasPublished() ? contentVersion : -1);
    }

    // ---------------------------------------------------------------- lifecycle of a publish

    /**
     * Rejects a new publish whose step is not after the model's watermark, or jumps too far past it
     * (that one is also quarantined: a wrong step, not a late one). True when rejected.
     */
    private boolean rejectedByStep(Context ctx, Collector<WeightEvent> out, ModelLedger ledger, InputRecord record,
            String modelId, String publishId, long step) throws Exception {
        if (isStale(ledger, step)) {
            reject(ctx, out, ledger, modelId, publishId, step, false, staleReason(ledger, step));
            return true;
        }
        String jump = checks.stepJump(ledger, step).orElse(null);
        if (jump != null) {
            deadLetter(ctx, record, modelId, step, publishId, null, null, jump);
            reject(ctx, out, ledger, modelId, publishId, step, false, jump);
            return true;
        }
        return false;
    }

    private PublishProgress startPublish(
            Context ctx, String modelId, String publishId, long step, long versionBytes, int bucketCount) {
        long now = ctx.timerService().currentProcessingTime();
        ctx.timerService().registerProcessingTimeTimer(now + publishTimeoutMs);
        inFlight.add(modelId + "/" + publishId);
        return new PublishProgress(modelId, publishId, step, versionBytes, bucketCount, now);
    }

    private void completeIfReady(Context ctx, Collector<WeightEvent> out, ModelLedger ledger, PublishProgress progress)
            throws Exception {
        if (progress.manifest == null || !progress.allChunksSeen()) {
            publishes.put(progress.publishId, progress);
            return;
        }
        // Checked again: the watermark may have moved (or appeared) since the publish started.
        String late = isStale(ledger, progress.step)
                ? staleReason(ledger, progress.step)
                : checks.stepJump(ledger, progress.step).orElse(null);
        if (late != null) {
            reject(ctx, out, ledger, progress.modelId, progress.publishId, progress.step, true, late);
            return;
        }
        VersionManifest manifest = decodeValidManifest(progress.manifest);
        long version = ++ledger.lastVersion;
        ledger.lastStep = progress.step;
        ledger.close(progress.publishId, VersionState.COMPLETED, version, "");
        ledgerState.update(ledger);
        publishes.remove(progress.publishId);
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
                        manifestsTopic, progress.manifestPartition, progress.manifestOffset,
                        progress.manifestOffset))
                .setChunkRanges(chunkRanges)
                .setBucketSha256(bucketDigests)
                .setCompletedAtMs(ctx.timerService().currentProcessingTime())
                .setReason("publish")
                .setKeyId(manifest.getKeyId())
                .build();
        long latencyMs = ctx.timerService().currentProcessingTime() - progress.firstSeenMs;
        publishVersion(ctx, out, entry, progress.manifest, latencyMs);
        metrics.versionLatencyMs.update(latencyMs);
    }

    /** Tells the sink to commit, indexes the version, retains it for rollbacks and reports it. */
    private void publishVersion(
            Context ctx, Collector<WeightEvent> out, VersionIndexEntry entry, byte[] manifest, long durationMs)
            throws Exception {
        byte[] encodedEntry = WireCodec.VERSION_INDEX.encode(entry);
        out.collect(WeightEvent.commitVersion(entry.getModelId(), entry.getPublishId(), entry.getStep(),
                entry.getVersion(), entry.getContentVersion(), entry.getTotalBytes(), manifest, encodedEntry,
                entry.getReason()));
        ctx.output(OUTBOUND, OutboundRecord.of(versionsTopic,
                AssemblerRecords.utf8(entry.getModelId() + "/" + entry.getVersion()), encodedEntry));
        retained.put(entry.getVersion(), new RetainedVersion(encodedEntry, manifest));
        retained.remove(entry.getVersion() - retainedVersions);
        status(ctx, entry.getModelId(), entry.getPublishId(), entry.getStep(), entry.getVersion(),
                VersionState.COMPLETED, entry.getTotalBytes(), durationMs,
                entry.getContentVersion() == entry.getVersion()
                        ? "published"
                        : entry.getReason() + " (content of version " + entry.getContentVersion() + ")",
                entry.getContentVersion());
        metrics.versionsCompleted.inc();
    }

    private void failPublish(
            Context ctx,
            Collector<WeightEvent> out,
            ModelLedger ledger,
            PublishProgress progress,
            InputRecord record,
            ChunkView chunk,
            String reason)
            throws Exception {
        if (chunk != null) {
            deadLetter(ctx, record, chunk, reason);
        } else {
            deadLetter(ctx, record, progress.modelId, progress.step, progress.publishId, null, null, reason);
        }
        String where = chunk == null
                ? record.coordinates()
                : String.format("bucket %d chunk %d at %s", chunk.bucketIndex(), chunk.chunkIndex(),
                        record.coordinates());
        closeInFlight(ctx, out, ledger, progress, VersionState.FAILED, where + ": " + reason);
        metrics.versionsFailed.inc();
    }

    private void abort(
            Context ctx, Collector<WeightEvent> out, ModelLedger ledger, PublishProgress progress, String reason)
            throws Exception {
        closeInFlight(ctx, out, ledger, progress, VersionState.ABORTED, reason);
        metrics.versionsAborted.inc();
    }

    private void closeInFlight(
            Context ctx,
            Collector<WeightEvent> out,
            ModelLedger ledger,
            PublishProgress progress,
            VersionState state,
            String reason)
            throws Exception {
        out.collect(WeightEvent.abortVersion(progress.modelId, progress.publishId, progress.step, reason));
        ledger.close(progress.publishId, state, -1, reason);
        ledgerState.update(ledger);
        publishes.remove(progress.publishId);
        inFlight.remove(progress.modelId + "/" + progress.publishId);
        status(ctx, progress.modelId, progress.publishId, progress.step, -1, state, progress.stagedBytes,
                ctx.timerService().currentProcessingTime() - progress.firstSeenMs, reason);
    }

    private void reject(
            Context ctx,
            Collector<WeightEvent> out,
            ModelLedger ledger,
            String modelId,
            String publishId,
            long step,
            boolean staged,
            String reason)
            throws Exception {
        if (staged) {
            out.collect(WeightEvent.abortVersion(modelId, publishId, step, reason));
            publishes.remove(publishId);
            inFlight.remove(modelId + "/" + publishId);
        }
        ledger.close(publishId, VersionState.REJECTED, -1, reason);
        ledgerState.update(ledger);
        status(ctx, modelId, publishId, step, -1, VersionState.REJECTED, 0, 0, reason);
        metrics.versionsRejected.inc();
    }

    /**
     * True when the publish already ended: records of a completed or rejected publish are replays or
     * producer retries and are dropped (counted); records of a failed or aborted one are quarantined.
     */
    private boolean isSettled(
            ModelLedger ledger, String publishId, long step, InputRecord record, ChunkView chunk, Context ctx) {
        ModelLedger.Outcome outcome = ledger.outcomeOf(publishId);
        if (outcome == null) {
            return false;
        }
        if (outcome.state == VersionState.COMPLETED || outcome.state == VersionState.REJECTED) {
            metrics.duplicateChunks.inc();
        } else {
            String reason = "publish " + publishId + " was " + outcome.state + " earlier: " + outcome.reason;
            if (chunk != null) {
                deadLetter(ctx, record, chunk, reason);
            } else {
                deadLetter(ctx, record, record.modelKey(), step, publishId, null, null, reason);
            }
        }
        return true;
    }

    /** Long.MIN_VALUE is "no watermark": before the first publish and after a reset that forgot it. */
    private static boolean isStale(ModelLedger ledger, long step) {
        return ledger.lastStep != Long.MIN_VALUE && step <= ledger.lastStep;
    }

    private static String staleReason(ModelLedger ledger, long step) {
        return String.format("stale publish: trainer step %d is not after the model's step watermark %d (last "
                + "published version %d)", step, ledger.lastStep, ledger.lastVersion);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<WeightEvent> out) throws Exception {
        ModelLedger ledger = ledger();
        long now = ctx.timerService().currentProcessingTime();
        long nextDue = Long.MAX_VALUE;
        List<PublishProgress> expired = new ArrayList<>();
        for (Iterator<Map.Entry<String, PublishProgress>> it = publishes.iterator(); it.hasNext(); ) {
            PublishProgress progress = it.next().getValue();
            long due = progress.lastSeenMs + publishTimeoutMs;
            if (due <= now) {
                expired.add(progress);
            } else {
                nextDue = Math.min(nextDue, due);
            }
        }
        for (PublishProgress progress : expired) {
            int chunkTotal = 0;
            for (PublishProgress.BucketProgress bucket : progress.buckets.values()) {
                chunkTotal += bucket.chunkCount;
            }
            abort(ctx, out, ledger, progress, String.format(
                    "timed out: no record for %d ms; %d chunks of %s seen, manifest %s", publishTimeoutMs,
                    progress.chunksSeen(), progress.manifest == null ? "an unknown number" : chunkTotal,
                    progress.manifest == null ? "missing" : "seen"));
        }
        if (nextDue != Long.MAX_VALUE) {
            ctx.timerService().registerProcessingTimeTimer(nextDue);
        }
    }

    // ---------------------------------------------------------------- outputs

    private void deadLetter(Context ctx, InputRecord record, ChunkView chunk, String reason) {
        if (chunk == null) {
            deadLetter(ctx, record, null, null, null, null, null, reason);
        } else {
            deadLetter(ctx, record, chunk.modelId(), chunk.step(), chunk.publishId(), chunk.bucketIndex(),
                    chunk.chunkIndex(), reason);
        }
    }

    private void deadLetter(Context ctx, InputRecord record, String modelId, Long step, String publishId,
            Integer bucketIndex, Integer chunkIndex, String reason) {
        ctx.output(OUTBOUND, records.deadLetter(record, modelId, step, publishId, bucketIndex, chunkIndex, reason,
                ctx.timerService().currentProcessingTime()));
        metrics.deadLetters.inc();
    }

    private void status(Context ctx, String modelId, String publishId, long step, long version, VersionState state,
            long bytes, long durationMs, String message) {
        status(ctx, modelId, publishId, step, version, state, bytes, durationMs, message, version);
    }

    private void status(Context ctx, String modelId, String publishId, long step, long version, VersionState state,
            long bytes, long durationMs, String message, long contentVersion) {
        ctx.output(OUTBOUND, records.status(modelId, publishId, step, version, contentVersion, state, bytes,
                durationMs, message, ctx.timerService().currentProcessingTime()));
    }

    // ---------------------------------------------------------------- helpers

    private ModelLedger ledger() throws Exception {
        ModelLedger ledger = ledgerState.value();
        return ledger == null ? new ModelLedger() : ledger;
    }

    private static VersionManifest decodeValidManifest(byte[] manifest) {
        try {
            return WireCodec.MANIFEST.decode(manifest);
        } catch (WireFormatException e) {
            throw new IllegalStateException("a manifest kept in state no longer decodes", e);
        }
    }

    private static int crc32c(ChunkView chunk) {
        CRC32C crc = new CRC32C();
        crc.update(chunk.payload(), chunk.payloadOffset(), chunk.payloadLength());
        return (int) crc.getValue();
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

}
