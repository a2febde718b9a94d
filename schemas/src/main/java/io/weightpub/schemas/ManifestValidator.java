package io.weightpub.schemas;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The rules a {@link VersionManifest} must follow in itself, whoever checks it (the job before it
 * accepts a publish, a worker before it exposes tensors): buckets laid end to end from offset 0,
 * chunk counts that match the chunk size, SHA-256 digests of a known kind (a tree's leaf size in
 * bounds), and for every tensor a known dtype, an
 * element count equal to the product of its shape, a byte range {@code [start_idx, end_idx)} of
 * exactly {@code numel * itemsize} bytes inside its bucket, aligned to its item size and overlapping
 * no other tensor of the bucket, and a name no other tensor of the version has. Every sum and
 * product is overflow-checked, so no number a manifest claims can wrap into a valid-looking one.
 */
@PublicEvolving
public final class ManifestValidator {

    private static final Map<String, Integer> ITEM_SIZES = Map.ofEntries(
            Map.entry("BOOL", 1), Map.entry("U8", 1), Map.entry("I8", 1),
            Map.entry("F8_E4M3", 1), Map.entry("F8_E5M2", 1),
            Map.entry("I16", 2), Map.entry("U16", 2), Map.entry("F16", 2), Map.entry("BF16", 2),
            Map.entry("I32", 4), Map.entry("U32", 4), Map.entry("F32", 4),
            Map.entry("I64", 8), Map.entry("U64", 8), Map.entry("F64", 8));

    private ManifestValidator() {}

    /** Bytes per element of a safetensors dtype name (exact, upper case), or empty for an unknown one. */
    public static OptionalInt itemSize(String dtype) {
        Integer size = dtype == null ? null : ITEM_SIZES.get(dtype);
        return size == null ? OptionalInt.empty() : OptionalInt.of(size);
    }

    /** Why the manifest breaks a rule, or empty when it follows all of them. */
    public static Optional<String> validate(VersionManifest manifest) {
        Optional<String> layout = checkBucketLayout(manifest);
        if (layout.isPresent()) {
            return layout;
        }
        Set<String> names = new HashSet<>();
        for (BucketInfo bucket : manifest.getBuckets()) {
            Optional<String> tensors = checkTensors(bucket, names);
            if (tensors.isPresent()) {
                return tensors;
            }
        }
        return Optional.empty();
    }

    /** Buckets in index order, laid end to end, each cut into the chunks the chunk size gives. */
    public static Optional<String> checkBucketLayout(VersionManifest manifest) {
        if (manifest.getChunkSize() <= 0) {
            return Optional.of("chunk size " + manifest.getChunkSize() + " is not positive");
        }
        try {
            DigestScheme.of(manifest); // the digest kind and leaf size are claims too: checked before use
        } catch (IllegalArgumentException e) {
            return Optional.of(e.getMessage());
        }
        List<BucketInfo> buckets = manifest.getBuckets();
        if (buckets.isEmpty()) {
            return Optional.of("no buckets");
        }
        long offset = 0;
        for (int i = 0; i < buckets.size(); i++) {
            BucketInfo bucket = buckets.get(i);
            if (bucket.getIndex() != i) {
                return Optional.of("bucket at position " + i + " has index " + bucket.getIndex());
            }
            if (bucket.getOffset() != offset || bucket.getSizeBytes() < 0) {
                return Optional.of(String.format("bucket %d at offset %d with %d bytes; expected offset %d and a "
                        + "size >= 0", i, bucket.getOffset(), bucket.getSizeBytes(), offset));
            }
            long expectedChunks = chunkCount(bucket.getSizeBytes(), manifest.getChunkSize());
            if (bucket.getChunkCount() != expectedChunks) {
                return Optional.of(String.format("bucket %d of %d bytes has %d chunks; with chunk size %d expected %d",
                        i, bucket.getSizeBytes(), bucket.getChunkCount(), manifest.getChunkSize(), expectedChunks));
            }
            if (bucket.getSha256().remaining() != 32) {
                return Optional.of("bucket " + i + " digest has " + bucket.getSha256().remaining()
                        + " bytes, SHA-256 has 32");
            }
            if (bucket.getSizeBytes() > Long.MAX_VALUE - offset) {
                return Optional.of("bucket " + i + " of " + bucket.getSizeBytes() + " bytes at offset " + offset
                        + " overflows a long");
            }
            offset += bucket.getSizeBytes();
        }
        if (offset != manifest.getTotalBytes()) {
            return Optional.of("buckets hold " + offset + " bytes, the manifest says " + manifest.getTotalBytes());
        }
        return Optional.empty();
    }

    /** Chunks of {@code chunkSize} bytes that cut a bucket of {@code bucketSize} bytes (1 for an empty bucket). */
    public static long chunkCount(long bucketSize, int chunkSize) {
        return bucketSize <= 0 ? 1 : (bucketSize - 1) / chunkSize + 1;
    }

    /**
     * The tensors of one bucket; {@code namesSoFar} holds the names of the version's tensors checked
     * before (this bucket's are added).
     */
    public static Optional<String> checkTensors(BucketInfo bucket, Set<String> namesSoFar) {
        List<TensorMeta> tensors = bucket.getTensors();
        Integer[] byStart = new Integer[tensors.size()];
        for (int t = 0; t < tensors.size(); t++) {
            TensorMeta tensor = tensors.get(t);
            Optional<String> problem = checkTensor(tensor, bucket);
            if (problem.isPresent()) {
                return problem;
            }
            if (!namesSoFar.add(tensor.getName())) {
                return Optional.of("tensor name " + tensor.getName() + " appears twice in the version");
            }
            byStart[t] = t;
        }
        Arrays.sort(byStart, Comparator.comparingLong((Integer t) -> tensors.get(t).getStartIdx()));
        TensorMeta furthest = null; // of the tensors before, the one whose bytes reach furthest
        for (int t : byStart) {
            TensorMeta tensor = tensors.get(t);
            if (tensor.getEndIdx() == tensor.getStartIdx()) {
                continue; // an empty tensor takes no bytes and overlaps nothing
            }
            if (furthest != null && tensor.getStartIdx() < furthest.getEndIdx()) {
                return Optional.of(String.format("in bucket %d tensor %s bytes [%d, %d) overlap tensor %s bytes "
                                + "[%d, %d)", bucket.getIndex(), tensor.getName(), tensor.getStartIdx(),
                        tensor.getEndIdx(), furthest.getName(), furthest.getStartIdx(), furthest.getEndIdx()));
            }
            if (furthest == null || tensor.getEndIdx() > furthest.getEndIdx()) {
                furthest = tensor;
            }
        }
        return Optional.empty();
    }

    /** One tensor's own rules: dtype, shape, element count, byte range inside its bucket, alignment. */
    public static Optional<String> checkTensor(TensorMeta tensor, BucketInfo bucket) {
        String name = tensor.getName();
        OptionalInt itemSize = itemSize(tensor.getDtype());
        if (itemSize.isEmpty()) {
            return Optional.of("tensor " + name + " has unknown dtype '" + tensor.getDtype() + "'; expected one of "
                    + new java.util.TreeSet<>(ITEM_SIZES.keySet()));
        }
        long numel = 1;
        for (long dim : tensor.getShape()) {
            if (dim < 0) {
                return Optional.of("tensor " + name + " has negative dimension in shape " + tensor.getShape());
            }
            try {
                numel = Math.multiplyExact(numel, dim);
            } catch (ArithmeticException e) {
                return Optional.of("tensor " + name + " shape " + tensor.getShape() + " has more elements than a long counts");
            }
        }
        if (tensor.getNumel() != numel) {
            return Optional.of("tensor " + name + " says numel " + tensor.getNumel() + "; its shape "
                    + tensor.getShape() + " has " + numel + " elements");
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(numel, (long) itemSize.getAsInt());
        } catch (ArithmeticException e) {
            return Optional.of("tensor " + name + " of " + numel + " " + tensor.getDtype() + " elements has more bytes than a long counts");
        }
        long start = tensor.getStartIdx();
        long end = tensor.getEndIdx();
        if (start < 0 || end < start || end > bucket.getSizeBytes()) {
            return Optional.of(String.format("tensor %s bytes [%d, %d) outside bucket %d of %d bytes", name, start,
                    end, bucket.getIndex(), bucket.getSizeBytes()));
        }
        if (end - start != bytes) {
            return Optional.of(String.format("tensor %s bytes [%d, %d) are %d bytes; %d %s elements take %d", name,
                    start, end, end - start, numel, tensor.getDtype(), bytes));
        }
        if (start % itemSize.getAsInt() != 0) {
            return Optional.of(String.format("tensor %s starts at byte %d, not aligned to its %d-byte %s items", name,
                    start, itemSize.getAsInt(), tensor.getDtype()));
        }
        return Optional.empty();
    }
}
