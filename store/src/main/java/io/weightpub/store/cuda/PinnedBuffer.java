package io.weightpub.store.cuda;

import jcuda.Pointer;
import jcuda.driver.JCudaDriver;
import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;

/** Page-locked host memory from {@code cuMemAllocHost}, with a direct ByteBuffer view of it. */
@Internal
public final class PinnedBuffer {

    private final Pointer pointer;
    private final ByteBuffer view;
    private final int size;
    private boolean freed;

    public PinnedBuffer(int size) {
        this.size = size;
        this.pointer = new Pointer();
        CudaDevice.check(JCudaDriver.cuMemAllocHost(pointer, size), "cuMemAllocHost(" + size + ")");
        this.view = pointer.getByteBuffer(0, size);
    }

    public Pointer pointer() {
        return pointer;
    }

    /** The shared view; use absolute get/put or {@code slice}, never its position. */
    public ByteBuffer view() {
        return view;
    }

    public int size() {
        return size;
    }

    public synchronized void free() {
        if (!freed) {
            freed = true;
            CudaDevice.check(JCudaDriver.cuMemFreeHost(pointer), "cuMemFreeHost");
        }
    }
}
