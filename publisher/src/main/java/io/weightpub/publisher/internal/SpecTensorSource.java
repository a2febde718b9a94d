package io.weightpub.publisher.internal;

import io.weightpub.publisher.DType;
import io.weightpub.publisher.TensorSource;
import org.apache.flink.annotation.Internal;

import java.io.IOException;
import java.nio.ByteBuffer;

/** A tensor known by name, dtype and shape only: enough to plan a publish, not to send it. */
@Internal
public final class SpecTensorSource extends TensorSource {

    public SpecTensorSource(String name, DType dtype, long[] shape) {
        super(name, dtype, shape);
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        throw new IOException("tensor " + name() + " is only a spec (name, dtype, shape): this rank was not given"
                + " its bytes, but the plan has it send them");
    }
}
