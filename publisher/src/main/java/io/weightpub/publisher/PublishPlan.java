package io.weightpub.publisher;

import io.weightpub.publisher.internal.Shares;
import org.apache.flink.annotation.PublicEvolving;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One version that several trainer ranks publish together: its buckets (global indices, offsets,
 * chunk counts), the publish id they share and which contiguous buckets each rank sends. Every
 * rank builds the same plan from the same arguments ({@link WeightPublisher#planPublish}); the
 * plan carries the bucket and chunk sizes, so ranks agree even if their publishers differ. See
 * docs/publisher.md for the protocol.
 */
@PublicEvolving
public final class PublishPlan {

    private final String modelId;
    private final long step;
    private final String publishId;
    private final long bucketSizeBytes;
    private final int chunkSizeBytes;
    private final List<TensorSource> tensors;
    private final List<Shares.Share> ranks;
    private final long totalBytes;
    private final long chunkCount;
    private final List<List<String>> tensorsByRank;

    PublishPlan(String modelId, long step, String publishId, List<? extends TensorSource> tensors,
            long bucketSizeBytes, int chunkSizeBytes, int ranks) {
        if (publishId == null || publishId.isBlank()) {
            throw new IllegalArgumentException("ranks must share a publish id (rank 0 draws one, e.g. a UUID,"
                    + " and broadcasts it); got '" + publishId + "'");
        }
        if (publishId.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("publish id '" + publishId + "' must not contain whitespace");
        }
        if (ranks < 1) {
            throw new IllegalArgumentException("ranks must be at least 1, was " + ranks);
        }
        this.modelId = modelId;
        this.step = step;
        this.publishId = publishId;
        this.bucketSizeBytes = bucketSizeBytes;
        this.chunkSizeBytes = chunkSizeBytes;
        this.tensors = List.copyOf(tensors);
        PublishEncoder encoder = encoder(List.of());
        this.ranks = Shares.split(encoder.bucketSizes(), ranks);
        this.totalBytes = encoder.totalBytes();
        this.chunkCount = encoder.chunkCount();
        List<List<String>> byRank = new ArrayList<>();
        for (Shares.Share share : this.ranks) {
            List<String> names = new ArrayList<>();
            for (int b = share.fromBucket(); b < share.toBucket(); b++) {
                encoder.plan().buckets().get(b).slots().forEach(s -> names.add(s.tensor().name()));
            }
            byRank.add(List.copyOf(names));
        }
        this.tensorsByRank = List.copyOf(byRank);
    }

    public String modelId() {
        return modelId;
    }

    public long step() {
        return step;
    }

    public String publishId() {
        return publishId;
    }

    public int ranks() {
        return ranks.size();
    }

    public long bucketSizeBytes() {
        return bucketSizeBytes;
    }

    public int chunkSizeBytes() {
        return chunkSizeBytes;
    }

    public long totalBytes() {
        return totalBytes;
    }

    public long chunkCount() {
        return chunkCount;
    }

    public int bucketCount() {
        return ranks.get(ranks.size() - 1).toBucket();
    }

    /** The first bucket {@code rank} sends. */
    public int firstBucket(int rank) {
        return share(rank).fromBucket();
    }

    /** One past the last bucket {@code rank} sends; equal to {@link #firstBucket} when the rank sends none. */
    public int endBucket(int rank) {
        return share(rank).toBucket();
    }

    /** Bytes {@code rank} sends. */
    public long bytes(int rank) {
        return share(rank).bytes();
    }

    /** Names of the tensors whose bytes {@code rank} must give {@link WeightPublisher#publishShard}. */
    public List<String> tensors(int rank) {
        share(rank);
        return tensorsByRank.get(rank);
    }

    private Shares.Share share(int rank) {
        if (rank < 0 || rank >= ranks.size()) {
            throw new IllegalArgumentException("rank " + rank + " is not one of the " + ranks.size()
                    + " ranks of publish " + publishId);
        }
        return ranks.get(rank);
    }

    /**
     * An encoder of the whole version in which the planned tensors are replaced by the sources
     * of the same name in {@code own}; each must have the planned dtype and shape.
     */
    PublishEncoder encoder(List<? extends TensorSource> own) {
        Map<String, TensorSource> byName = new HashMap<>();
        for (TensorSource t : own) {
            if (byName.put(t.name(), t) != null) {
                throw new IllegalArgumentException("tensor " + t.name() + " is given twice");
            }
        }
        Set<String> used = new HashSet<>();
        List<TensorSource> merged = new ArrayList<>(tensors.size());
        for (TensorSource planned : tensors) {
            TensorSource given = byName.get(planned.name());
            if (given == null) {
                merged.add(planned);
                continue;
            }
            if (given.dtype() != planned.dtype() || !Arrays.equals(given.shape(), planned.shape())) {
                throw new IllegalArgumentException("tensor " + given.name() + " is " + given.dtype()
                        + Arrays.toString(given.shape()) + " but publish " + publishId + " planned "
                        + planned.dtype() + Arrays.toString(planned.shape()));
            }
            used.add(given.name());
            merged.add(given);
        }
        if (used.size() != byName.size()) {
            Set<String> unknown = new HashSet<>(byName.keySet());
            unknown.removeAll(used);
            throw new IllegalArgumentException("tensors " + unknown + " are not in the plan of publish " + publishId);
        }
        return PublishEncoder.builder().modelId(modelId).step(step).publishId(publishId).tensors(merged)
                .bucketSizeBytes(bucketSizeBytes).chunkSizeBytes(chunkSizeBytes).build();
    }

    @Override
    public String toString() {
        return "publish " + publishId + " of model " + modelId + " step " + step + ": " + bucketCount()
                + " buckets, " + totalBytes + " bytes over " + ranks.size() + " ranks";
    }
}
