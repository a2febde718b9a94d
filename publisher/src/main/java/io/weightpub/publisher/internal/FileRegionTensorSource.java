package io.weightpub.publisher.internal;

import io.weightpub.publisher.DType;
import io.weightpub.publisher.MappedFile;
import io.weightpub.publisher.TensorSource;
import org.apache.flink.annotation.Internal;

import java.io.IOException;
import java.nio.ByteBuffer;

/** A tensor stored in a region of a memory-mapped file. */
@Internal
public final class FileRegionTensorSource extends TensorSource {

    private final MappedFile file;
    private final long offset;

    public FileRegionTensorSource(String name, DType dtype, long[] shape, MappedFile file, long offset) {
        super(name, dtype, shape);
        this.file = file;
        this.offset = offset;
        if (offset < 0 || offset + byteSize() > file.size()) {
            throw new IllegalArgumentException("tensor " + name + ": region [" + offset + ", "
                    + (offset + byteSize()) + ") is outside " + file.path() + " (" + file.size() + " bytes)");
        }
    }

    @Override
    public void read(long tensorOffset, ByteBuffer dst) throws IOException {
        file.read(offset + tensorOffset, dst);
    }
}
