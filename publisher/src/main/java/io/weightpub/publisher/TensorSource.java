package io.weightpub.publisher;

import io.weightpub.publisher.internal.BufferTensorSource;
import io.weightpub.publisher.internal.FileRegionTensorSource;
import io.weightpub.publisher.internal.SpecTensorSource;
import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * One named tensor to publish: its dtype, its shape and a way to read its bytes (row-major, as
 * safetensors stores them). Bytes are read on demand, slice by slice, so a source never has to
 * hold a whole checkpoint on the heap. Subclass it to publish from other places (a GPU copy, a
 * training framework's buffer). A publish through several producers reads different tensors on
 * different threads at once (each tensor from one thread), so sources that share state (a file
 * handle, a stream) must guard it.
 */
@PublicEvolving
public abstract class TensorSource {

    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final long numel;

    protected TensorSource(String name, DType dtype, long[] shape) {
        this.name = Objects.requireNonNull(name, "name");
        this.dtype = Objects.requireNonNull(dtype, "dtype of " + name);
        this.shape = Objects.requireNonNull(shape, "shape of " + name).clone();
        if (name.isEmpty()) {
            throw new IllegalArgumentException("tensor name must not be empty");
        }
        this.numel = numel(name, this.shape);
        // byteSize() must not overflow either.
        try {
            Math.multiplyExact(numel, (long) dtype.itemSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor " + name + ": byte size of shape "
                    + Arrays.toString(shape) + " x " + dtype + " overflows a long");
        }
    }

    /** Elements in a tensor of this shape (1 for a scalar, shape []), checking every dimension. */
    public static long numel(String tensorName, long[] shape) {
        long n = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException(
                        "tensor " + tensorName + ": negative dimension in shape " + Arrays.toString(shape));
            }
            try {
                n = Math.multiplyExact(n, dim);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(
                        "tensor " + tensorName + ": element count of shape " + Arrays.toString(shape)
                                + " overflows a long");
            }
        }
        return n;
    }

    /** A tensor whose bytes are this array (not copied; do not change it while publishing). */
    public static TensorSource ofBytes(String name, DType dtype, long[] shape, byte[] bytes) {
        return new BufferTensorSource(name, dtype, shape, ByteBuffer.wrap(bytes));
    }

    /**
     * A tensor whose bytes are the remaining bytes of this buffer (heap or direct; not copied, the
     * buffer's position and limit are left alone).
     */
    public static TensorSource ofBuffer(String name, DType dtype, long[] shape, ByteBuffer bytes) {
        return new BufferTensorSource(name, dtype, shape, bytes);
    }

    /**
     * A tensor known only by name, dtype and shape, for {@link WeightPublisher#planPublish}: a
     * trainer rank plans the whole version but holds the bytes of its own tensors only.
     */
    public static TensorSource spec(String name, DType dtype, long[] shape) {
        return new SpecTensorSource(name, dtype, shape);
    }

    /** A tensor stored in a memory-mapped file from {@code offset} on, {@code numel * itemSize} bytes long. */
    public static TensorSource ofFileRegion(String name, DType dtype, long[] shape, MappedFile file, long offset) {
        return new FileRegionTensorSource(name, dtype, shape, file, offset);
    }

    public final String name() {
        return name;
    }

    public final DType dtype() {
        return dtype;
    }

    /** The dimensions (a copy); empty for a scalar. */
    public final long[] shape() {
        return shape.clone();
    }

    public final long numel() {
        return numel;
    }

    public final long byteSize() {
        return numel * dtype.itemSize();
    }

    /**
     * Copies this tensor's bytes {@code [offset, offset + dst.remaining())} into {@code dst},
     * advancing its position to its limit. Callers never read past {@link #byteSize()}.
     */
    public abstract void read(long offset, ByteBuffer dst) throws IOException;

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " (" + byteSize() + " bytes)";
    }
}
