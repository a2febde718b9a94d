package io.weightpub.sink.internal;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.sink.TensorRef;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A manifest's tensors by name, with their offsets in the whole version. */
final class TensorTable {

    private record Entry(String dtype, List<Long> shape, long offset, long sizeBytes) {}

    private final Map<String, Entry> byName;
    private final List<String> names;

    private TensorTable(Map<String, Entry> byName) {
        this.byName = byName;
        this.names = List.copyOf(byName.keySet());
    }

    /** Builds the table; adds one line to {@code problems} per tensor that is out of its bucket or named twice. */
    static TensorTable of(VersionManifest manifest, List<String> problems) {
        Map<String, Entry> byName = new LinkedHashMap<>();
        for (BucketInfo bucket : manifest.getBuckets()) {
            for (TensorMeta tensor : bucket.getTensors()) {
                String name = tensor.getName().toString();
                long start = tensor.getStartIdx();
                long end = tensor.getEndIdx();
                if (start < 0 || end < start || end > bucket.getSizeBytes()) {
                    problems.add("tensor " + name + " of bucket " + bucket.getIndex() + ": bytes [" + start + ", "
                            + end + ") outside the bucket's " + bucket.getSizeBytes() + " bytes");
                    continue;
                }
                Entry entry = new Entry(tensor.getDtype().toString(), new ArrayList<>(tensor.getShape()),
                        bucket.getOffset() + start, end - start);
                if (byName.putIfAbsent(name, entry) != null) {
                    problems.add("tensor " + name + " appears twice (again in bucket " + bucket.getIndex() + ")");
                }
            }
        }
        return new TensorTable(Collections.unmodifiableMap(byName));
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
