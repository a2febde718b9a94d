package io.weightpub.store.internal;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.ManifestValidator;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.store.TensorRef;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A manifest's tensors by name, with their offsets in the whole version. Only tensors whose metadata
 * fits their bytes get in: a {@link TensorRef} hands readers a pointer with a shape, and a shape the
 * bytes do not hold would make them read outside the slot although every digest matched.
 */
final class TensorTable {

    private record Entry(String name, String dtype, List<Long> shape, long offset, long sizeBytes) {}

    private final Map<String, Entry> byName;
    private final List<String> names;

    private TensorTable(Map<String, Entry> byName) {
        this.byName = byName;
        this.names = List.copyOf(byName.keySet());
    }

    /**
     * Builds the table; adds one line to {@code problems} per tensor whose dtype is unknown, whose
     * numel is not the product of its shape, whose byte range does not hold exactly numel items, lies
     * outside its bucket or the version, is not aligned to its item size, overlaps another tensor, or
     * whose name is taken.
     */
    static TensorTable of(VersionManifest manifest, List<String> problems) {
        Map<String, Entry> byName = new LinkedHashMap<>();
        List<Entry> placed = new ArrayList<>();
        for (BucketInfo bucket : manifest.getBuckets()) {
            for (TensorMeta tensor : bucket.getTensors()) {
                String name = tensor.getName().toString();
                String problem = check(bucket, tensor, manifest.getTotalBytes());
                if (problem != null) {
                    problems.add("tensor " + name + " of bucket " + bucket.getIndex() + ": " + problem);
                    continue;
                }
                Entry entry = new Entry(name, tensor.getDtype().toString(), new ArrayList<>(tensor.getShape()),
                        bucket.getOffset() + tensor.getStartIdx(), tensor.getEndIdx() - tensor.getStartIdx());
                if (byName.putIfAbsent(name, entry) != null) {
                    problems.add("tensor " + name + " appears twice (again in bucket " + bucket.getIndex() + ")");
                } else if (entry.sizeBytes() > 0) {
                    placed.add(entry);
                }
            }
        }
        placed.sort(Comparator.comparingLong(Entry::offset));
        for (int i = 1; i < placed.size(); i++) {
            Entry before = placed.get(i - 1);
            Entry after = placed.get(i);
            if (after.offset() < before.offset() + before.sizeBytes()) {
                problems.add("tensors " + before.name() + " (version bytes [" + before.offset() + ", "
                        + (before.offset() + before.sizeBytes()) + ")) and " + after.name() + " (["
                        + after.offset() + ", " + (after.offset() + after.sizeBytes()) + ")) overlap");
            }
        }
        return new TensorTable(Collections.unmodifiableMap(byName));
    }

    /** What is wrong with the tensor's metadata, or null. Overflow-safe for any numbers a manifest claims. */
    private static String check(BucketInfo bucket, TensorMeta tensor, long versionBytes) {
        String dtype = tensor.getDtype().toString();
        OptionalInt known = ManifestValidator.itemSize(dtype);
        if (known.isEmpty()) {
            return "unknown dtype '" + dtype + "' (not a safetensors dtype name)";
        }
        int itemSize = known.getAsInt();
        List<Long> shape = tensor.getShape();
        long numel = 1;
        long bytes;
        try {
            for (long dim : shape) {
                if (dim < 0) {
                    return "shape " + shape + " has a negative dimension";
                }
                numel = Math.multiplyExact(numel, dim);
            }
            bytes = Math.multiplyExact(numel, (long) itemSize);
        } catch (ArithmeticException e) {
            return "shape " + shape + " of " + dtype + " has more than 2^63 bytes";
        }
        if (numel != tensor.getNumel()) {
            return "numel is " + tensor.getNumel() + " but shape " + shape + " has " + numel + " elements";
        }
        long start = tensor.getStartIdx();
        long end = tensor.getEndIdx();
        if (start < 0 || end < start || end > bucket.getSizeBytes()) {
            return "bytes [" + start + ", " + end + ") outside the bucket's " + bucket.getSizeBytes() + " bytes";
        }
        if (end - start != bytes) {
            return "bytes [" + start + ", " + end + ") hold " + (end - start) + " bytes, but shape " + shape + " of "
                    + dtype + " takes " + bytes;
        }
        if (bucket.getOffset() < 0 || bucket.getOffset() > versionBytes || end > versionBytes - bucket.getOffset()) {
            return "bytes [" + start + ", " + end + ") of the bucket at version offset " + bucket.getOffset()
                    + " lie outside the version's " + versionBytes + " bytes";
        }
        long offset = bucket.getOffset() + start;
        if (bytes > 0 && offset % itemSize != 0) {
            return "starts at version offset " + offset + ", not aligned to its " + itemSize + "-byte " + dtype
                    + " items";
        }
        return null;
    }

    List<String> names() {
        return names;
    }

    Optional<TensorRef> lookup(String name, long slotAddress) {
        Entry entry = byName.get(name);
        if (entry == null) {
            return Optional.empty();
        }
        return Optional.of(new TensorRef(name, entry.dtype(), entry.shape(), entry.offset(), entry.sizeBytes(),
                slotAddress));
    }
}
