package io.weightpub.publisher.internal;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class SharesTest {

    private static void assertCoversEveryBucketOnce(long[] sizes, List<Shares.Share> shares, int count) {
        assertThat(shares).hasSize(count);
        int next = 0;
        long total = 0;
        for (Shares.Share s : shares) {
            assertThat(s.fromBucket()).as("share %s starts where the previous ended", s).isEqualTo(next);
            assertThat(s.toBucket()).isGreaterThanOrEqualTo(s.fromBucket());
            long bytes = 0;
            for (int b = s.fromBucket(); b < s.toBucket(); b++) {
                bytes += sizes[b];
            }
            assertThat(s.bytes()).isEqualTo(bytes);
            total += bytes;
            next = s.toBucket();
        }
        assertThat(next).as("the last share ends at the last bucket").isEqualTo(sizes.length);
        assertThat(total).isEqualTo(java.util.Arrays.stream(sizes).sum());
    }

    @Test
    void sharesCoverEveryBucketExactlyOnceForAnyCounts() {
        Random random = new Random(12);
        for (int trial = 0; trial < 500; trial++) {
            long[] sizes = new long[1 + random.nextInt(40)];
            for (int i = 0; i < sizes.length; i++) {
                sizes[i] = random.nextInt(5) == 0 ? 0 : 1 + random.nextInt(1 << 20);
            }
            int count = 1 + random.nextInt(20);
            assertCoversEveryBucketOnce(sizes, Shares.split(sizes, count), count);
        }
    }

    @Test
    void equalBucketsSplitIntoSharesThatDifferByAtMostOneBucket() {
        long[] sizes = new long[10];
        java.util.Arrays.fill(sizes, 512);
        List<Shares.Share> shares = Shares.split(sizes, 4);
        assertThat(shares).extracting(s -> s.toBucket() - s.fromBucket()).allMatch(n -> n == 2 || n == 3);
    }

    @Test
    void fewerBucketsThanSharesGiveEachBucketItsOwnShareAndLeaveTheRestEmpty() {
        long[] sizes = {100, 100};
        List<Shares.Share> shares = Shares.split(sizes, 4);
        assertCoversEveryBucketOnce(sizes, shares, 4);
        assertThat(shares).filteredOn(s -> !s.isEmpty()).hasSize(2)
                .allMatch(s -> s.toBucket() - s.fromBucket() == 1);
    }

    @Test
    void aLargeBucketIsNotSharedWithItsNeighbours() {
        long[] sizes = {10, 10, 1000, 10, 10};
        List<Shares.Share> shares = Shares.split(sizes, 3);
        assertCoversEveryBucketOnce(sizes, shares, 3);
        assertThat(shares.get(1).fromBucket()).isEqualTo(2);
        assertThat(shares.get(1).toBucket()).isEqualTo(3);
    }
}
