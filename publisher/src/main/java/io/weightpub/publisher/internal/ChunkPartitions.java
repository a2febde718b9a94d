package io.weightpub.publisher.internal;

import org.apache.flink.annotation.Internal;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * Where a version's chunk records go: chunk {@code seq} of the version (counted over all buckets
 * in bucket order, then chunk order) goes to partition {@code (start + seq) mod partitions}, with
 * {@code start} derived from the publish id. Every partition of the chunks topic then gets the
 * same number of records of a version, give or take one, however few buckets it has; key hashing
 * (the key is model/publish/bucket) put a bucket's chunks on one partition, so a version of few
 * buckets used few partitions and readers in parallel idled. The start varies per publish so the
 * one-record surplus does not always land on partition 0. Trainer ranks compute the same layout
 * from the same plan, so a version is even across ranks too.
 */
@Internal
public final class ChunkPartitions {

    private final int start;
    private final int partitions;

    private ChunkPartitions(int start, int partitions) {
        this.start = start;
        this.partitions = partitions;
    }

    public static ChunkPartitions of(String publishId, int partitions) {
        if (partitions < 1) {
            throw new IllegalArgumentException("a chunks topic has at least one partition, got " + partitions);
        }
        CRC32C crc = new CRC32C(); // stable across JVMs and ranks, unlike String.hashCode's contract
        crc.update(publishId.getBytes(StandardCharsets.UTF_8));
        return new ChunkPartitions((int) (crc.getValue() % partitions), partitions);
    }

    /** The partition of the version's chunk number {@code seq}. */
    public int partition(long seq) {
        return (int) ((start + seq) % partitions);
    }

    public int start() {
        return start;
    }

    public int partitions() {
        return partitions;
    }
}
