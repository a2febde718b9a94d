package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.schemas.VersionState;
import io.weightpub.sink.internal.InFlightPublishes.ModelTrack;
import io.weightpub.store.WeightStore;

/**
 * Stages chunk events into their publish's shadow slot, and hashes a bucket once all its chunks are
 * staged. Chunk events come from the job's parallel checkers, ahead of (and apart from) the
 * coordinator's decisions, so a worker takes them with care: chunks of a publish that ended here are
 * ignored, as are chunks that disagree with the publish's size or step (the coordinator fails that
 * publish) and chunks whose bytes are already staged (a duplicate: the first copy stands, as in the
 * job). Nothing here throws for what a chunk claims, and nothing is written outside the slot.
 */
final class ChunkStager {

    private final WorkerRuntime runtime;
    private final WeightStore store;
    private final ShadowSlots slots;
    private final SinkMetrics metrics;

    ChunkStager(WorkerRuntime runtime, ShadowSlots slots, SinkMetrics metrics) {
        this.runtime = runtime;
        this.store = runtime.store();
        this.slots = slots;
        this.metrics = metrics;
    }

    void stage(ModelTrack track, WeightEvent event) {
        StagingProgress progress = track.inFlight.get(event.publishId());
        if (progress == null) {
            if (track.finished.contains(event.publishId())) {
                return; // it ended here (committed, aborted, superseded): a late copy, or re-sent after a restore
            }
            progress = new StagingProgress(event.modelId(), event.publishId(), event.step(), event.versionBytes(),
                    System.currentTimeMillis());
            track.inFlight.put(event.publishId(), progress);
            if (!slots.claimLive(track, progress)) {
                progress.deferred = true;
                runtime.reporter().report(VersionState.STAGED, event.modelId(), -1, -1, event.step(),
                        event.publishId(), 0, 0, "deferred: no free slot while every shadow slot holds a verified "
                                + "publish waiting for its checkpoint; its chunks are not staged, its commit re-reads "
                                + "it from Kafka once a slot is free");
            } else if (progress.lost == null) {
                runtime.reporter().report(VersionState.STAGED, event.modelId(), -1, -1, event.step(),
                        event.publishId(), event.versionBytes(), 0, "first chunk staged into a shadow slot");
            }
        } else if (event.versionBytes() != progress.versionBytes || event.step() != progress.step) {
            metrics.chunksIgnored.inc();
            return; // a chunk that lies about its publish: the coordinator fails the publish when it counts it
        }
        if (progress.deferred && !slots.claimLate(track, progress)) {
            progress.miss(event.sourcePartition(), event.sourceOffset());
            return;
        }
        if (progress.lost != null || progress.whole) {
            return; // its bytes are gone or the store refused it a slot, or it came whole (a rollback)
        }
        long end = event.versionOffset() + event.payloadLength();
        if (event.payloadLength() > 0 && progress.stagedBytes.covers(event.versionOffset(), end)) {
            metrics.chunksIgnored.inc();
            return; // a duplicate (a producer retry, a replay): the copy staged first stands
        }
        store.write(event.modelId(), event.publishId(), event.versionOffset(), event.payload(), event.payloadOffset(),
                event.payloadLength());
        metrics.chunksStaged.inc();
        metrics.bytesStaged.inc(event.payloadLength());
        progress.record(event.versionOffset(), event.payloadLength(), event.sourcePartition(), event.sourceOffset());
        long[] bucket = progress.pendingBuckets.get(event.bucketIndex());
        if (bucket != null && progress.stagedBytes.covers(bucket[0], bucket[0] + bucket[1])) {
            progress.pendingBuckets.remove(event.bucketIndex());
            store.prehash(event.modelId(), event.publishId(), bucket[0], bucket[1]);
        }
    }

    /**
     * Hashes a bucket whose every chunk the job has checked, while the next buckets still stream, so
     * the commit's verification finds its digest ready. Its last chunks may still be on their way
     * from other checkers: then it is hashed when they are staged. Buckets this worker will not hold
     * whole are left to the verification.
     */
    void bucketComplete(ModelTrack track, WeightEvent event) {
        StagingProgress progress = track.inFlight.get(event.publishId());
        if (progress == null || progress.lost != null || progress.whole || progress.deferred
                || event.versionBytes() != progress.versionBytes) {
            return;
        }
        if (progress.stagedBytes.covers(event.versionOffset(), event.versionOffset() + event.bucketSize())) {
            store.prehash(event.modelId(), event.publishId(), event.versionOffset(), event.bucketSize());
        } else {
            progress.pendingBuckets.put(event.bucketIndex(), new long[] {event.versionOffset(), event.bucketSize()});
        }
    }
}
