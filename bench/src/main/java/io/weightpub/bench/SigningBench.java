package io.weightpub.bench;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.signing.RecordSigner;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.schemas.signing.SigningKey;
import io.weightpub.schemas.signing.TrustedKeys;
import io.weightpub.schemas.signing.internal.CanonicalEncoding;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * The cost of signing a manifest (publisher) and verifying it (job, and again each worker) for a
 * large model's manifest: {@code SigningBench [tensors] [buckets] [iterations]}, default 1000
 * tensors in 64 buckets. Signing covers the manifest, never the weights, so the cost does not grow
 * with the model's bytes; prints median and p99 per operation in microseconds.
 */
public final class SigningBench {

    private SigningBench() {}

    public static void main(String[] args) {
        int tensors = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int buckets = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int iterations = args.length > 2 ? Integer.parseInt(args[2]) : 3000;
        VersionManifest manifest = manifest(tensors, buckets);
        SigningKey key = SigningKey.generate();
        RecordSigner signer = new RecordSigner(key);
        SignatureVerifier verifier = SignatureVerifier.builder()
                .publisherKeys(TrustedKeys.of(List.of(key.trusted(List.of())))).build();
        VersionManifest signed = signer.sign(manifest);
        if (verifier.checkManifest(signed).isPresent()) {
            throw new IllegalStateException("the signed manifest does not verify");
        }
        System.out.printf("manifest: %d tensors in %d buckets, %d bytes Avro, %d bytes canonical%n", tensors, buckets,
                WireCodec.MANIFEST.encode(signed).length, CanonicalEncoding.of(manifest).length);
        report("canonical encoding", iterations, () -> CanonicalEncoding.of(manifest));
        report("Avro encode (for scale)", iterations, () -> WireCodec.MANIFEST.encode(signed));
        report("sign (encode + Ed25519)", iterations, () -> signer.sign(manifest));
        report("verify (encode + Ed25519)", iterations, () -> verifier.checkManifest(signed));
    }

    private static void report(String what, int iterations, Supplier<?> operation) {
        for (int i = 0; i < iterations; i++) {
            operation.get();
        }
        long[] nanos = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            long start = System.nanoTime();
            operation.get();
            nanos[i] = System.nanoTime() - start;
        }
        Arrays.sort(nanos);
        System.out.printf("%-28s median %8.1f us   p99 %8.1f us%n", what, nanos[iterations / 2] / 1e3,
                nanos[(int) (iterations * 0.99)] / 1e3);
    }

    static VersionManifest manifest(int tensorCount, int bucketCount) {
        List<BucketInfo> buckets = new ArrayList<>();
        long versionOffset = 0;
        int perBucket = (tensorCount + bucketCount - 1) / bucketCount;
        int made = 0;
        for (int b = 0; b < bucketCount; b++) {
            List<TensorMeta> tensors = new ArrayList<>();
            long offset = 0;
            for (int t = 0; t < perBucket && made < tensorCount; t++, made++) {
                long rows = 4096;
                long cols = made % 7 == 0 ? 14336 : 4096;
                tensors.add(TensorMeta.newBuilder().setName("model.layers." + made / 9 + ".mlp.gate_proj_" + made
                                + ".weight").setShape(List.of(rows, cols)).setDtype("BF16").setStartIdx(offset)
                        .setEndIdx(offset + rows * cols * 2).setNumel(rows * cols).build());
                offset += rows * cols * 2;
            }
            byte[] sha = new byte[32];
            Arrays.fill(sha, (byte) b);
            buckets.add(BucketInfo.newBuilder().setIndex(b).setOffset(versionOffset).setSizeBytes(offset)
                    .setChunkCount((int) ((offset + 1_044_479) / 1_044_480)).setSha256(ByteBuffer.wrap(sha))
                    .setTensors(tensors).build());
            versionOffset += offset;
        }
        return VersionManifest.newBuilder().setModelId("meta/llama-3-70b").setStep(12345)
                .setPublishId("7c9e6679-7425-40de-944b-e07fc1f90ae7").setTotalBytes(versionOffset)
                .setChunkSize(1_044_480).setBuckets(buckets).setCreatedAtMs(System.currentTimeMillis()).build();
    }
}
