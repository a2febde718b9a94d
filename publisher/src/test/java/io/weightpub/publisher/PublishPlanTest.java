package io.weightpub.publisher;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.VersionManifest;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PublishPlanTest {

    private static List<TensorSource> tensors(int count, int bytesEach, long seed) {
        Random random = new Random(seed);
        List<TensorSource> tensors = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] bytes = new byte[bytesEach];
            random.nextBytes(bytes);
            tensors.add(TensorSource.ofBytes("layers." + i + ".weight", DType.BF16, new long[] {bytesEach / 2}, bytes));
        }
        return tensors;
    }

    private static List<TensorSource> specs(List<TensorSource> tensors) {
        return tensors.stream().map(t -> TensorSource.spec(t.name(), t.dtype(), t.shape())).toList();
    }

    private static PublishPlan plan(List<TensorSource> tensors, int ranks) {
        return new PublishPlan("m", 3, "p-1", tensors, 8192, 1000, ranks);
    }

    @Test
    void ranksCoverEveryBucketAndTensorExactlyOnce() {
        List<TensorSource> tensors = tensors(13, 4000, 1);
        for (int ranks = 1; ranks <= 9; ranks++) {
            PublishPlan plan = plan(specs(tensors), ranks);
            int next = 0;
            Set<String> names = new HashSet<>();
            long bytes = 0;
            for (int r = 0; r < ranks; r++) {
                assertThat(plan.firstBucket(r)).isEqualTo(next);
                next = plan.endBucket(r);
                for (String name : plan.tensors(r)) {
                    assertThat(names.add(name)).as("%s planned once", name).isTrue();
                }
                bytes += plan.bytes(r);
            }
            assertThat(next).isEqualTo(plan.bucketCount());
            assertThat(names).hasSize(13);
            assertThat(bytes).isEqualTo(plan.totalBytes());
        }
    }

    @Test
    void shardsEncodedSeparatelyGiveTheManifestOfTheWholeVersion() {
        List<TensorSource> tensors = tensors(9, 4000, 2);
        PublishEncoder whole = PublishEncoder.builder().modelId("m").step(3).publishId("p-1").tensors(tensors)
                .bucketSizeBytes(8192).chunkSizeBytes(1000).build();
        whole.chunks().forEachRemaining(c -> { });
        VersionManifest expected = whole.manifest(1L);

        PublishPlan plan = plan(specs(tensors), 3);
        PublishEncoder manifestRank = plan.encoder(List.of());
        for (int r = 0; r < 3; r++) {
            // A rank holds the bytes of its own tensors only.
            List<String> own = plan.tensors(r);
            PublishEncoder rank = plan.encoder(tensors.stream().filter(t -> own.contains(t.name())).toList());
            rank.chunks(plan.firstBucket(r), plan.endBucket(r)).forEachRemaining(c -> { });
            ShardResult shard = ShardResult.parse(new ShardResult("p-1", r, plan.firstBucket(r),
                    digests(rank, plan.firstBucket(r), plan.endBucket(r)), 0, plan.bytes(r), Duration.ZERO).encode());
            for (int b = shard.fromBucket(); b < shard.toBucket(); b++) {
                manifestRank.bucketDigest(b, shard.sha256(b - shard.fromBucket()));
            }
        }
        VersionManifest built = manifestRank.manifest(1L);
        assertThat(built).isEqualTo(expected);
        assertThat(built.getBuckets()).extracting(BucketInfo::getSha256).doesNotContainNull();
    }

    private static List<byte[]> digests(PublishEncoder encoder, int from, int to) {
        List<byte[]> digests = new ArrayList<>();
        for (int b = from; b < to; b++) {
            digests.add(encoder.bucketDigest(b));
        }
        return digests;
    }

    @Test
    void aRankSendingATensorItWasNotGivenFailsNamingIt() {
        List<TensorSource> tensors = tensors(4, 4000, 3);
        PublishPlan plan = plan(specs(tensors), 2);
        PublishEncoder rank0 = plan.encoder(List.of());
        assertThatThrownBy(() -> rank0.chunks(plan.firstBucket(0), plan.endBucket(0)).next())
                .hasMessageContaining(plan.tensors(0).get(0)).hasMessageContaining("only a spec");
    }

    @Test
    void aSourceThatDoesNotMatchThePlanIsRejected() {
        List<TensorSource> tensors = tensors(4, 4000, 4);
        PublishPlan plan = plan(specs(tensors), 2);
        TensorSource wrongShape = TensorSource.ofBytes("layers.0.weight", DType.BF16, new long[] {1000, 2}, new byte[4000]);
        assertThatThrownBy(() -> plan.encoder(List.of(wrongShape))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("layers.0.weight").hasMessageContaining("planned");
        TensorSource unknown = TensorSource.ofBytes("lm_head", DType.U8, new long[] {4}, new byte[4]);
        assertThatThrownBy(() -> plan.encoder(List.of(unknown))).hasMessageContaining("lm_head")
                .hasMessageContaining("not in the plan");
        assertThatThrownBy(() -> new PublishPlan("m", 3, "has space", tensors, 8192, 1000, 2))
                .hasMessageContaining("whitespace");
    }

    @Test
    void aShardResultSurvivesItsTextForm() {
        byte[] d = new byte[32];
        d[0] = 1;
        d[31] = (byte) 0xff;
        ShardResult r = new ShardResult("p-9", 2, 5, List.of(d, new byte[32]), 17, 17_000, Duration.ofMillis(250));
        ShardResult back = ShardResult.parse(r.encode());
        assertThat(back.encode()).isEqualTo(r.encode());
        assertThat(back.sha256(0)).isEqualTo(d);
        assertThat(back.toBucket()).isEqualTo(7);
        assertThatThrownBy(() -> ShardResult.parse("publish=p rank=1")).hasMessageContaining("lacks 'sha256'");
    }
}
