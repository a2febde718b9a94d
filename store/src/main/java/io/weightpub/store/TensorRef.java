package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

import java.util.List;
import java.util.Objects;

/**
 * Where one tensor of a version lives: bytes {@code [offset, offset + sizeBytes)} of the slot at
 * {@code slotAddress} (a device pointer on the CUDA backend, a host address on the host backend).
 * Valid only while the lease it came from is held.
 */
@PublicEvolving
public record TensorRef(String name, String dtype, List<Long> shape, long offset, long sizeBytes, long slotAddress) {

    public TensorRef {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = List.copyOf(shape);
        if (offset < 0 || sizeBytes < 0) {
            throw new IllegalArgumentException(
                    "tensor " + name + ": offset " + offset + " and size " + sizeBytes + " must not be negative");
        }
    }

    /** The tensor's first byte: {@code slotAddress + offset}. */
    public long address() {
        return slotAddress + offset;
    }
}
