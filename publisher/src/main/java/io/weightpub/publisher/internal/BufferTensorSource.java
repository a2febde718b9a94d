package io.weightpub.publisher.internal;

import io.weightpub.publisher.DType;
import io.weightpub.publisher.TensorSource;
import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;

/** A tensor whose bytes are in a {@link ByteBuffer} (heap or direct). */
@Internal
public final class BufferTensorSource extends TensorSource {

    private final ByteBuffer bytes;

    public BufferTensorSource(String name, DType dtype, long[] shape, ByteBuffer bytes) {
        super(name, dtype, shape);
        this.bytes = bytes.slice();
        if (this.bytes.remaining() != byteSize()) {
            throw new IllegalArgumentException("tensor " + name + ": " + bytes.remaining()
                    + " bytes given, shape and dtype " + dtype + " need " + byteSize());
        }
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        ByteBuffer view = bytes.duplicate();
        view.position((int) offset).limit((int) offset + dst.remaining());
        dst.put(view);
    }
}
