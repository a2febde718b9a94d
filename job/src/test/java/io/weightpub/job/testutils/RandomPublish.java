package io.weightpub.job.testutils;

import io.weightpub.publisher.DType;
import io.weightpub.publisher.PublishEncoder;
import io.weightpub.publisher.TensorSource;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

/**
 * One publish made in memory from seeded random tensors: its chunk records, its manifest and the
 * bytes every worker must end up with.
 */
public final class RandomPublish {

    private final List<WeightChunk> chunks;
    private final VersionManifest manifest;
    private final byte[] expectedBytes;

    private RandomPublish(List<WeightChunk> chunks, VersionManifest manifest, byte[] expectedBytes) {
        this.chunks = chunks;
        this.manifest = manifest;
        this.expectedBytes = expectedBytes;
    }

    /**
     * {@code tensorCount} tensors of mixed dtypes and sizes up to {@code maxTensorBytes}, bucketed at
     * {@code bucketSize} and chunked at {@code chunkSize}.
     */
    public static RandomPublish create(String modelId, long step, long seed, int tensorCount, int maxTensorBytes,
            long bucketSize, int chunkSize) {
        Random random = new Random(seed);
        List<TensorSource> tensors = new ArrayList<>();
        DType[] dtypes = {DType.BF16, DType.F32, DType.F16, DType.I8};
        for (int i = 0; i < tensorCount; i++) {
            DType dtype = dtypes[i % dtypes.length];
            int elements = 1 + random.nextInt(Math.max(1, maxTensorBytes / dtype.itemSize()));
            byte[] bytes = new byte[elements * dtype.itemSize()];
            random.nextBytes(bytes);
            tensors.add(TensorSource.ofBytes("layers." + i + ".weight", dtype, new long[] {elements}, bytes));
        }
        PublishEncoder encoder = PublishEncoder.builder()
                .modelId(modelId)
                .step(step)
                .tensors(tensors)
                .bucketSizeBytes(bucketSize)
                .chunkSizeBytes(chunkSize)
                .build();
        List<WeightChunk> chunks = new ArrayList<>();
        byte[] expected = new byte[Math.toIntExact(encoder.totalBytes())];
        for (Iterator<WeightChunk> it = encoder.chunks(); it.hasNext(); ) {
            WeightChunk chunk = it.next();
            chunks.add(chunk);
            chunk.getPayload().duplicate().get(expected,
                    Math.toIntExact(chunk.getBucketOffset() + chunk.getChunkOffset()), chunk.getPayload().remaining());
        }
        return new RandomPublish(List.copyOf(chunks), encoder.manifest(), expected);
    }

    public List<WeightChunk> chunks() {
        return chunks;
    }

    public VersionManifest manifest() {
        return manifest;
    }

    public String modelId() {
        return manifest.getModelId();
    }

    public String publishId() {
        return manifest.getPublishId();
    }

    public long step() {
        return manifest.getStep();
    }

    /** The whole version as the workers must hold it, buckets end to end. */
    public byte[] expectedBytes() {
        return expectedBytes.clone();
    }

    public long totalBytes() {
        return expectedBytes.length;
    }
}
