package io.weightpub.job.assembly;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ChunkSetTest {

    @Test
    void chunksInAnyOrderAreTheSameSetAsABitmapAndInOrderTheyAreOneRange() {
        List<Integer> chunks = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            chunks.add(i);
        }
        Collections.shuffle(chunks, new Random(1));
        ChunkSet set = new ChunkSet();
        BitSet expected = new BitSet();
        for (int chunk : chunks.subList(0, 700)) {
            assertThat(set.contains(chunk)).isFalse();
            set.add(chunk);
            expected.set(chunk);
        }
        for (int i = 0; i < 1000; i++) {
            assertThat(set.contains(i)).as("chunk %d", i).isEqualTo(expected.get(i));
        }
        assertThat(set.size()).isEqualTo(700);
        for (int chunk : chunks.subList(700, 1000)) {
            set.add(chunk);
        }
        assertThat(set.ranges()).containsExactly(0, 1000);
    }

    @Test
    void aChunkFarOutTakesOneRangeNotABitmapUpToIt() {
        ChunkSet set = new ChunkSet();
        set.add(Integer.MAX_VALUE - 1);
        assertThat(set.ranges()).containsExactly(Integer.MAX_VALUE - 1, Integer.MAX_VALUE);
        assertThat(set.contains(Integer.MAX_VALUE - 1)).isTrue();
        assertThat(set.contains(0)).isFalse();
    }

    @Test
    void aBitmapOfStateFormatOneBecomesTheSameSet() {
        long[] words = {0b1011L, 1L << 63};
        ChunkSet set = ChunkSet.ofBitmap(words, 128);
        assertThat(set.ranges()).containsExactly(0, 2, 3, 4, 127, 128);
        assertThat(set.size()).isEqualTo(4);
    }
}
