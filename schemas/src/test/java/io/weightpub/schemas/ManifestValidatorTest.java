package io.weightpub.schemas;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

class ManifestValidatorTest {

    private static TensorMeta tensor(String name, String dtype, List<Long> shape, long start, long end, long numel) {
        return TensorMeta.newBuilder().setName(name).setDtype(dtype).setShape(shape).setStartIdx(start)
                .setEndIdx(end).setNumel(numel).build();
    }

    private static List<TensorMeta> validTensors() {
        return List.of(
                tensor("a", "F32", List.of(4L, 2L), 0, 32, 8),
                tensor("b", "BF16", List.of(8L), 32, 48, 8),
                tensor("empty", "I64", List.of(0L, 5L), 48, 48, 0),
                tensor("scalar", "U8", List.of(), 48, 49, 1));
    }

    private static VersionManifest manifest(List<TensorMeta> bucket0, List<TensorMeta> bucket1) {
        BucketInfo first = BucketInfo.newBuilder().setIndex(0).setOffset(0).setSizeBytes(56).setChunkCount(4)
                .setSha256(ByteBuffer.wrap(new byte[32])).setTensors(bucket0).build();
        BucketInfo second = BucketInfo.newBuilder().setIndex(1).setOffset(56).setSizeBytes(8).setChunkCount(1)
                .setSha256(ByteBuffer.wrap(new byte[32])).setTensors(bucket1).build();
        return VersionManifest.newBuilder().setModelId("m").setStep(1).setPublishId("p").setTotalBytes(64)
                .setChunkSize(16).setBuckets(List.of(first, second)).setCreatedAtMs(0).build();
    }

    private static VersionManifest withTensor(int index, UnaryOperator<TensorMeta.Builder> change) {
        List<TensorMeta> tensors = new ArrayList<>(validTensors());
        tensors.set(index, change.apply(TensorMeta.newBuilder(tensors.get(index))).build());
        return manifest(tensors, List.of(tensor("c", "F64", List.of(1L), 0, 8, 1)));
    }

    @Test
    void aManifestAsThePublisherWritesItIsValid() {
        assertThat(ManifestValidator.validate(manifest(validTensors(), List.of()))).isEmpty();
    }

    @Test
    void everySafetensorsDtypeIsKnownWithItsItemSize() {
        assertThat(ManifestValidator.itemSize("F8_E5M2")).hasValue(1);
        assertThat(ManifestValidator.itemSize("BF16")).hasValue(2);
        assertThat(ManifestValidator.itemSize("U32")).hasValue(4);
        assertThat(ManifestValidator.itemSize("F64")).hasValue(8);
        assertThat(ManifestValidator.itemSize("f32")).isEmpty();
    }

    @Test
    void unknownDtypeIsRejected() {
        assertThat(ManifestValidator.validate(withTensor(0, t -> t.setDtype("F128"))))
                .hasValueSatisfying(reason -> assertThat(reason).contains("tensor a").contains("unknown dtype 'F128'"));
    }

    @Test
    void shapeWhoseElementCountOverflowsALongIsRejected() {
        // The hole: [2^40, 2^40] F64 over a few bytes of bucket.
        assertThat(ManifestValidator.validate(withTensor(0, t -> t.setDtype("F64")
                .setShape(List.of(1L << 40, 1L << 40)).setNumel(0))))
                .hasValueSatisfying(reason -> assertThat(reason).contains("more elements than a long counts"));
    }

    @Test
    void numelOtherThanTheProductOfTheShapeIsRejected() {
        assertThat(ManifestValidator.validate(withTensor(0, t -> t.setNumel(9))))
                .hasValueSatisfying(reason -> assertThat(reason).contains("says numel 9").contains("has 8 elements"));
    }

    @Test
    void negativeDimensionIsRejected() {
        assertThat(ManifestValidator.validate(withTensor(0, t -> t.setShape(List.of(-4L, -2L)))))
                .hasValueSatisfying(reason -> assertThat(reason).contains("negative dimension"));
    }

    @Test
    void byteRangeOtherThanNumelTimesItemSizeIsRejected() {
        assertThat(ManifestValidator.validate(withTensor(0, t -> t.setEndIdx(16))))
                .hasValueSatisfying(reason -> assertThat(reason).contains("are 16 bytes").contains("take 32"));
    }

    @Test
    void rangeOutsideTheBucketIsRejected() {
        assertThat(ManifestValidator.validate(withTensor(1, t -> t.setStartIdx(48).setEndIdx(64))))
                .hasValueSatisfying(reason -> assertThat(reason).contains("outside bucket 0 of 56 bytes"));
        assertThat(ManifestValidator.validate(withTensor(1, t -> t.setStartIdx(-16).setEndIdx(0))))
                .hasValueSatisfying(reason -> assertThat(reason).contains("outside bucket"));
    }

    @Test
    void startNotAlignedToTheItemSizeIsRejected() {
        assertThat(ManifestValidator.validate(withTensor(1, t -> t.setStartIdx(33).setEndIdx(49))))
                .hasValueSatisfying(reason -> assertThat(reason).contains("not aligned to its 2-byte BF16 items"));
    }

    @Test
    void overlappingTensorsOfOneBucketAreRejectedButEmptyOnesOverlapNothing() {
        assertThat(ManifestValidator.validate(withTensor(1, t -> t.setStartIdx(16).setEndIdx(32))))
                .hasValueSatisfying(reason -> assertThat(reason).contains("tensor b bytes [16, 32) overlap tensor a"));
        assertThat(ManifestValidator.validate(withTensor(2, t -> t.setStartIdx(8).setEndIdx(8)))).isEmpty();
    }

    @Test
    void aTensorNameUsedTwiceInTheVersionIsRejected() {
        VersionManifest manifest = manifest(validTensors(), List.of(tensor("a", "F64", List.of(1L), 0, 8, 1)));
        assertThat(ManifestValidator.validate(manifest))
                .hasValueSatisfying(reason -> assertThat(reason).contains("tensor name a appears twice"));
    }

    @Test
    void bucketsNotLaidEndToEndOrWithTheWrongChunkCountAreRejected() {
        VersionManifest valid = manifest(validTensors(), List.of());
        List<BucketInfo> gap = List.of(valid.getBuckets().get(0),
                BucketInfo.newBuilder(valid.getBuckets().get(1)).setOffset(60).build());
        assertThat(ManifestValidator.validate(VersionManifest.newBuilder(valid).setBuckets(gap).build()))
                .hasValueSatisfying(reason -> assertThat(reason).contains("expected offset 56"));
        List<BucketInfo> chunks = List.of(BucketInfo.newBuilder(valid.getBuckets().get(0)).setChunkCount(5).build(),
                valid.getBuckets().get(1));
        assertThat(ManifestValidator.validate(VersionManifest.newBuilder(valid).setBuckets(chunks).build()))
                .hasValueSatisfying(reason -> assertThat(reason).contains("expected 4"));
    }

    @Test
    void aTreeDigestWhoseLeafSizeIsNoPowerOfTwoInBoundsIsRejectedBeforeAnythingIsSizedByIt() {
        VersionManifest valid = manifest(validTensors(), List.of());
        assertThat(ManifestValidator.validate(VersionManifest.newBuilder(valid)
                .setDigestKind(DigestKind.SHA256_TREE).setLeafSize(1 << 18).build())).isEmpty();
        assertThat(ManifestValidator.validate(VersionManifest.newBuilder(valid)
                .setDigestKind(DigestKind.SHA256_TREE).setLeafSize(3 << 18).build()))
                .hasValueSatisfying(reason -> assertThat(reason).contains("leaf size 786432 is not a power of two"));
        assertThat(ManifestValidator.validate(VersionManifest.newBuilder(valid)
                .setDigestKind(DigestKind.UNKNOWN).build()))
                .hasValueSatisfying(reason -> assertThat(reason).contains("digest kind UNKNOWN"));
    }

    @Test
    void bucketSizesWhoseSumOverflowsALongAreRejected() {
        VersionManifest valid = manifest(validTensors(), List.of());
        long most = (long) Integer.MAX_VALUE * Integer.MAX_VALUE; // the largest bucket an int chunk count cuts
        List<BucketInfo> buckets = new ArrayList<>(List.of(
                BucketInfo.newBuilder(valid.getBuckets().get(0)).setChunkCount(1).build()));
        for (int i = 1; i <= 3; i++) {
            buckets.add(BucketInfo.newBuilder(valid.getBuckets().get(1)).setIndex(i).setOffset(56 + (i - 1) * most)
                    .setSizeBytes(most).setChunkCount(Integer.MAX_VALUE).setTensors(List.of()).build());
        }
        VersionManifest manifest = VersionManifest.newBuilder(valid).setChunkSize(Integer.MAX_VALUE)
                .setBuckets(buckets).setTotalBytes(56 + 3 * most).build();
        assertThat(ManifestValidator.validate(manifest))
                .hasValueSatisfying(reason -> assertThat(reason).contains("overflows a long"));
    }
}
