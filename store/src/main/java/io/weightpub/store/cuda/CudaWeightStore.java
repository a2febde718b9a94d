package io.weightpub.store.cuda;

import io.weightpub.store.internal.Sha256;
import io.weightpub.store.internal.SlotMemory;
import io.weightpub.store.internal.SlotStore;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStoreConfig;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Weight store in GPU memory: one device allocation per slot, chunks staged through a pinned ring
 * with asynchronous copies, and digests computed on bytes copied back from the device (so
 * verification covers what actually reached the GPU, not the host copy).
 */
public final class CudaWeightStore extends SlotStore {

    /** Read-back pieces: big enough for full PCIe speed, small enough to keep several per thread. */
    private static final int MAX_READBACK_BYTES = 4 * 1024 * 1024;

    private final CudaDevice device;
    private final PinnedStagingRing ring;
    private final BlockingQueue<PinnedBuffer> readback;
    private final int readbackCount;
    private final int readbackBytes;
    private final AtomicLong pinnedAllocations = new AtomicLong();

    private CudaWeightStore(WeightStoreConfig config, CudaDevice device, long deviceBytes) {
        super(config, "weightpub-cuda" + device.ordinal(), deviceBytes, "CUDA device " + device.ordinal());
        this.device = device;
        this.readbackBytes = Math.min(config.stagingBufferBytes(), MAX_READBACK_BYTES);
        this.readbackCount = config.verifyThreads() + 2;
        this.readback = new ArrayBlockingQueue<>(readbackCount);
        PinnedStagingRing created = null;
        try {
            created = new PinnedStagingRing(device, config.stagingBuffers(), config.stagingBufferBytes(),
                    config.copyThreads());
            pinnedAllocations.addAndGet(created.buffers());
            for (int i = 0; i < readbackCount; i++) {
                readback.add(new PinnedBuffer(readbackBytes));
                pinnedAllocations.incrementAndGet();
            }
        } catch (RuntimeException e) {
            readback.forEach(PinnedBuffer::free);
            if (created != null) {
                created.close();
            }
            device.close();
            throw e;
        }
        this.ring = created;
    }

    /**
     * Opens a store on CUDA device {@code ordinal}.
     *
     * @throws IllegalStateException naming the reason when there is no usable CUDA device
     */
    public static CudaWeightStore open(WeightStoreConfig config, int ordinal) {
        if (!CudaAvailability.isAvailable()) {
            throw new IllegalStateException("the CUDA backend needs a CUDA device and driver: "
                    + CudaAvailability.unavailableReason());
        }
        CudaDevice device = CudaDevice.open(ordinal);
        long deviceBytes;
        try {
            deviceBytes = device.memInfo()[1];
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
        return new CudaWeightStore(config, device, deviceBytes);
    }

    @Override
    public StoreBackend backend() {
        return StoreBackend.CUDA;
    }

    @Override
    public String describe() {
        return "CUDA device " + device.ordinal() + " (" + device.name() + "), " + config().slotsPerModel()
                + " slots per model, staging ring " + config().stagingBuffers() + " x " + config().stagingBufferBytes()
                + " bytes pinned";
    }

    /** Free and total bytes of the device's memory. */
    public long[] deviceMemoryInfo() {
        return device.memInfo();
    }

    @Override
    protected SlotMemory allocate(String modelId, long bytes) {
        device.makeCurrent();
        DevicePointer pointer = new DevicePointer();
        CudaDevice.check(JCudaDriver.cuMemAlloc(pointer, Math.max(1, bytes)),
                "cuMemAlloc(" + bytes + " bytes) for a slot of model " + modelId + " on device " + device.ordinal());
        return new DeviceMemory(pointer, bytes);
    }

    @Override
    public void awaitWrites() {
        ring.drain();
    }

    @Override
    protected long pinnedBytes() {
        return isClosed() ? 0 : ring.pinnedBytes() + (long) readbackCount * readbackBytes;
    }

    @Override
    protected long pinnedAllocations() {
        return pinnedAllocations.get();
    }

    @Override
    protected void closeBackend() {
        try {
            ring.close();
        } finally {
            for (int i = 0; i < readbackCount; i++) {
                PinnedBuffer buffer = borrow();
                buffer.free();
            }
            device.close();
        }
    }

    private PinnedBuffer borrow() {
        try {
            return readback.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a pinned read-back buffer", e);
        }
    }

    private final class DeviceMemory implements SlotMemory {
        private final DevicePointer pointer;
        private final long capacity;
        private boolean freed;

        DeviceMemory(DevicePointer pointer, long capacity) {
            this.pointer = pointer;
            this.capacity = capacity;
        }

        @Override
        public long address() {
            return pointer.address();
        }

        @Override
        public long capacity() {
            return capacity;
        }

        @Override
        public void write(long offset, byte[] src, int from, int length) {
            check(offset, length);
            ring.write(pointer, offset, src, from, length);
        }

        @Override
        public void read(long offset, byte[] dst, int dstOffset, int length) {
            check(offset, length);
            PinnedBuffer buffer = borrow();
            try {
                device.makeCurrent();
                int done = 0;
                while (done < length) {
                    int piece = Math.min(buffer.size(), length - done);
                    CudaDevice.check(JCudaDriver.cuMemcpyDtoH(buffer.pointer(), pointer.withByteOffset(offset + done),
                            piece), "cuMemcpyDtoH(" + piece + " bytes)");
                    buffer.view().get(0, dst, dstOffset + done, piece);
                    done += piece;
                }
            } finally {
                readback.add(buffer);
            }
        }

        @Override
        public byte[] sha256(long offset, long length) {
            check(offset, length);
            MessageDigest digest = Sha256.newDigest();
            PinnedBuffer buffer = borrow();
            try {
                device.makeCurrent();
                long done = 0;
                while (done < length) {
                    int piece = (int) Math.min(buffer.size(), length - done);
                    CudaDevice.check(JCudaDriver.cuMemcpyDtoH(buffer.pointer(), pointer.withByteOffset(offset + done),
                            piece), "cuMemcpyDtoH(" + piece + " bytes)");
                    ByteBuffer bytes = buffer.view().slice(0, piece);
                    digest.update(bytes);
                    done += piece;
                }
            } finally {
                readback.add(buffer);
            }
            return digest.digest();
        }

        @Override
        public synchronized void free() {
            if (!freed) {
                freed = true;
                device.makeCurrent();
                CudaDevice.check(JCudaDriver.cuMemFree(pointer), "cuMemFree");
            }
        }

        private void check(long offset, long length) {
            if (freed) {
                throw new IllegalStateException("device slot at 0x" + Long.toHexString(address()) + " was freed");
            }
            if (offset < 0 || length < 0 || offset + length > capacity) {
                throw new IndexOutOfBoundsException("bytes [" + offset + ", " + (offset + length)
                        + ") outside the device slot's " + capacity + " bytes");
            }
        }
    }
}
