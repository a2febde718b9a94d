package io.weightpub.job.testutils;

import io.weightpub.schemas.WeightChunk;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The hostile suite's oracle: it must call real chunks consistent and only unprovable lies consistent. */
class ChunkConsistencyTest {

    private static final int CHUNK_SIZE = HostileRecords.TEMPLATE_CHUNK_SIZE;

    @Test
    void everyChunkThePublisherWritesIsConsistent() {
        assertThat(HostileRecords.TEMPLATE.chunks())
                .allSatisfy(chunk -> assertThat(ChunkConsistency.consistentAlone(chunk, CHUNK_SIZE)).isTrue());
    }

    @Test
    void aLargerVersionSizeIsAConsistentLieOnlyForANonLastBucketAndWithinTheLimit() {
        for (WeightChunk chunk : HostileRecords.TEMPLATE.chunks()) {
            boolean last = chunk.getBucketIndex() == chunk.getBucketCount() - 1;
            for (long versionBytes : new long[] {Integer.MAX_VALUE - 8L, Integer.MAX_VALUE, 1L << 31, 1L << 40}) {
                WeightChunk lie = WeightChunk.newBuilder(chunk).setVersionBytes(versionBytes).build();
                assertThat(ChunkConsistency.consistentAlone(lie, CHUNK_SIZE)).as("%s", lie).isEqualTo(!last);
            }
            WeightChunk overLimit = WeightChunk.newBuilder(chunk).setVersionBytes(1L << 50).build();
            assertThat(ChunkConsistency.consistentAlone(overLimit, CHUNK_SIZE)).isFalse();
        }
    }

    @Test
    void aChunkIndexOrOffsetThatDoesNotMatchTheCutIsInconsistent() {
        WeightChunk chunk = HostileRecords.TEMPLATE.chunks().get(1);
        assertThat(ChunkConsistency.consistentAlone(
                WeightChunk.newBuilder(chunk).setChunkOffset(chunk.getChunkOffset() + 1).build(), CHUNK_SIZE)).isFalse();
        assertThat(ChunkConsistency.consistentAlone(
                WeightChunk.newBuilder(chunk).setChunkIndex(-1).build(), CHUNK_SIZE)).isFalse();
        assertThat(ChunkConsistency.consistentAlone(
                WeightChunk.newBuilder(chunk).setBucketCount(Integer.MAX_VALUE).build(), CHUNK_SIZE)).isFalse();
    }
}
