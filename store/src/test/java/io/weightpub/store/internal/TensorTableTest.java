package io.weightpub.store.internal;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Tensor metadata that does not fit its bytes never reaches a TensorRef. */
class TensorTableTest {

    private static final long BUCKET = 4096;

    @Test
    void tensorsThatFitTheirBytesAreListedWithVersionOffsets() {
        List<String> problems = new ArrayList<>();

        TensorTable table = TensorTable.of(manifest(
                tensor("a", "F32", List.of(16L, 16L), 0, 1024),
                tensor("scalar", "BF16", List.of(), 1024, 1026),
                tensor("empty", "F64", List.of(0L, 7L), 1026, 1026),
                tensor("b", "I64", List.of(8L), 1032, 1096)), problems);

        assertThat(problems).isEmpty();
        assertThat(table.names()).containsExactly("a", "scalar", "empty", "b");
        assertThat(table.lookup("b", 0).orElseThrow().offset()).isEqualTo(BUCKET + 1032);
    }

    @Test
    void unknownDtypeWrongNumelOverflowingShapeAndWrongByteCountAreRefused() {
        List<String> problems = new ArrayList<>();

        TensorTable table = TensorTable.of(manifest(
                tensor("unknown", "F128", List.of(4L), 0, 64),
                withNumel(tensor("numel", "F32", List.of(4L, 4L), 64, 128), 15),
                withNumel(tensor("overflow", "U8", List.of(1L << 32, 1L << 32), 128, 192), 0),
                tensor("bytes", "F32", List.of(4L), 192, 200)), problems);

        assertThat(table.names()).isEmpty();
        assertThat(problems).satisfiesExactly(
                p -> assertThat(p).contains("tensor unknown", "unknown dtype 'F128'"),
                p -> assertThat(p).contains("tensor numel", "numel is 15", "16 elements"),
                p -> assertThat(p).contains("tensor overflow", "more than 2^63"),
                p -> assertThat(p).contains("tensor bytes", "hold 8 bytes", "takes 16"));
    }

    @Test
    void rangesOutsideTheBucketOrVersionMisalignedOrOverlappingAreRefused() {
        List<String> problems = new ArrayList<>();

        TensorTable.of(manifest(
                tensor("outside", "U8", List.of(16L), BUCKET - 8, BUCKET + 8),
                tensor("misaligned", "F32", List.of(2L), 2, 10),
                tensor("first", "F32", List.of(8L), 16, 48),
                tensor("overlapping", "F32", List.of(8L), 32, 64)), problems);

        assertThat(problems).satisfiesExactly(
                p -> assertThat(p).contains("tensor outside", "outside the bucket's 4096 bytes"),
                p -> assertThat(p).contains("tensor misaligned", "not aligned to its 4-byte F32 items"),
                p -> assertThat(p).contains("tensors first", "overlapping", "overlap"));
    }

    @Test
    void bucketBeyondTheVersionCannotPlaceTensorsOutsideIt() {
        List<String> problems = new ArrayList<>();
        BucketInfo far = bucket(1, Long.MAX_VALUE - 10, List.of(tensor("far", "U8", List.of(16L), 0, 16)));

        TensorTable.of(VersionManifest.newBuilder(manifest()).setBuckets(List.of(far)).build(), problems);

        assertThat(problems).singleElement().satisfies(p -> assertThat(p).contains("tensor far", "outside the version"));
    }

    private static TensorMeta tensor(String name, String dtype, List<Long> shape, long start, long end) {
        long numel = 1;
        for (long dim : shape) {
            numel *= dim;
        }
        return TensorMeta.newBuilder().setName(name).setDtype(dtype).setShape(shape).setStartIdx(start)
                .setEndIdx(end).setNumel(numel).build();
    }

    private static TensorMeta withNumel(TensorMeta tensor, long numel) {
        return TensorMeta.newBuilder(tensor).setNumel(numel).build();
    }

    private static BucketInfo bucket(int index, long offset, List<TensorMeta> tensors) {
        return BucketInfo.newBuilder().setIndex(index).setOffset(offset).setSizeBytes(BUCKET).setChunkCount(1)
                .setSha256(ByteBuffer.wrap(new byte[32])).setTensors(tensors).build();
    }

    /** Bucket 0 (empty) then bucket 1 with {@code tensors}: tensors start at version offset 4096. */
    private static VersionManifest manifest(TensorMeta... tensors) {
        return VersionManifest.newBuilder().setModelId("m").setStep(1).setPublishId("p").setTotalBytes(2 * BUCKET)
                .setChunkSize((int) BUCKET).setCreatedAtMs(0)
                .setBuckets(List.of(bucket(0, 0, List.of()), bucket(1, BUCKET, List.of(tensors)))).build();
    }
}
