package io.weightpub.publisher.internal;

import io.weightpub.publisher.DType;
import io.weightpub.publisher.PublishEncoder;
import io.weightpub.publisher.TensorSource;
import io.weightpub.schemas.WeightChunk;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChunkPartitionsTest {

    /** Records per partition of a version of {@code buckets} buckets of uneven chunk counts. */
    private static int[] recordsPerPartition(String publishId, int partitions, int buckets) {
        List<TensorSource> tensors = new ArrayList<>();
        for (int i = 0; i < buckets; i++) {
            int bytes = 1000 + 700 * i; // bucket i has 1 + 7i/10 chunks of 1000 bytes: uneven on purpose
            tensors.add(TensorSource.ofBytes("t" + i, DType.U8, new long[] {bytes}, new byte[bytes]));
        }
        PublishEncoder encoder = PublishEncoder.builder().modelId("m").step(1).publishId(publishId).tensors(tensors)
                .bucketSizeBytes(1000).chunkSizeBytes(1000).build();
        ChunkPartitions layout = ChunkPartitions.of(publishId, partitions);
        int[] counts = new int[partitions];
        for (Iterator<WeightChunk> it = encoder.chunks(); it.hasNext(); ) {
            WeightChunk c = it.next();
            counts[layout.partition(encoder.chunkSequence(c.getBucketIndex(), c.getChunkIndex()))]++;
        }
        return counts;
    }

    @Test
    void aVersionSpreadsOverEveryPartitionWithinOneRecordHoweverFewBucketsItHas() {
        for (int partitions : new int[] {1, 3, 6, 16}) {
            for (int buckets : new int[] {1, 2, 5}) {
                int[] counts = recordsPerPartition(UUID.randomUUID().toString(), partitions, buckets);
                int max = java.util.Arrays.stream(counts).max().orElseThrow();
                int min = java.util.Arrays.stream(counts).min().orElseThrow();
                assertThat(max - min).as("%d partitions, %d buckets: %s", partitions, buckets,
                        java.util.Arrays.toString(counts)).isLessThanOrEqualTo(1);
            }
        }
    }

    @Test
    void theLayoutIsAFunctionOfThePublishIdAndPartitionCount() {
        ChunkPartitions a = ChunkPartitions.of("publish-7", 16);
        ChunkPartitions b = ChunkPartitions.of("publish-7", 16);
        for (long seq = 0; seq < 100; seq++) {
            assertThat(a.partition(seq)).isEqualTo(b.partition(seq)).isEqualTo((int) ((a.start() + seq) % 16));
        }
        // CRC32C of the id's UTF-8 bytes mod 16: the same on every rank and JVM (pinned, so a change is noticed).
        assertThat(a.start()).isEqualTo(12);
        long starts = java.util.stream.IntStream.range(0, 64)
                .map(i -> ChunkPartitions.of("publish-" + i, 16).start()).distinct().count();
        assertThat(starts).as("start partitions vary with the publish id").isGreaterThan(8);
    }

    @Test
    void aTopicWithoutPartitionsIsRejected() {
        assertThatThrownBy(() -> ChunkPartitions.of("p", 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least one partition");
    }
}
