package io.weightpub.store.cuda;

import io.weightpub.schemas.DigestScheme;
import io.weightpub.store.SharedSlot;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.store.spi.MemoryAllocator;
import io.weightpub.store.spi.Sha256;
import io.weightpub.store.spi.SlotMemory;
import jcuda.driver.CUipcMemHandle;
import jcuda.driver.JCudaDriver;
import org.apache.flink.annotation.Internal;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Slots in GPU memory: one device allocation per slot, chunks staged through a pinned ring with
 * asynchronous copies, and digests computed on the bytes that actually reached the GPU, not the host
 * copy: {@code SHA256_TREE} digests on the device itself ({@link DeviceTreeDigest}, each bucket on
 * its own stream as soon as its last chunk is staged), plain {@code SHA256} ones (manifests before
 * tree digests) on bytes copied back.
 */
@Internal
public final class CudaAllocator implements MemoryAllocator {

    /**
     * Buckets hashed on the device at once, each by a thread that only launches kernels and waits
     * for its stream: 2048 leaves of a 512 MiB bucket are 64 warps, so 16 buckets in flight keep
     * every scheduler of an H200 busy (4 at once: about 200 GB/s; 8: 390 GB/s; results/gpu).
     */
    public static final int DEVICE_HASH_STREAMS = 16;
    /** Read-back pieces: big enough for full PCIe speed, small enough to keep several per thread. */
    private static final int MAX_READBACK_BYTES = 4 * 1024 * 1024;

    private final CudaDevice device;
    private final PinnedStagingRing ring;
    private final BlockingQueue<PinnedBuffer> readback;
    private final int readbackCount;
    private final int readbackBytes;
    private final AtomicLong pinnedAllocations = new AtomicLong();
    private final DeviceTreeDigest treeDigest;
    private final ExecutorService deviceHashing;
    private final WeightStoreConfig config;
    private final long deviceBytes;
    private volatile boolean closed;

    private CudaAllocator(WeightStoreConfig config, CudaDevice device, long deviceBytes) {
        this.config = config;
        this.device = device;
        this.treeDigest = new DeviceTreeDigest(device);
        AtomicInteger hashThreads = new AtomicInteger();
        this.deviceHashing = Executors.newFixedThreadPool(DEVICE_HASH_STREAMS, r -> {
            Thread t = new Thread(r, "weightpub-cuda" + device.ordinal() + "-tree-" + hashThreads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.deviceBytes = deviceBytes;
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
     * Opens CUDA device {@code ordinal} with the staging ring and read-back buffers of {@code config}.
     *
     * @throws IllegalStateException naming the reason when there is no usable CUDA device
     */
    public static CudaAllocator open(WeightStoreConfig config, int ordinal) {
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
        return new CudaAllocator(config, device, deviceBytes);
    }

    @Override
    public StoreBackend backend() {
        return StoreBackend.CUDA;
    }

    @Override
    public String describe() {
        return "CUDA device " + device.ordinal() + " (" + device.name() + "), staging ring "
                + config.stagingBuffers() + " x " + config.stagingBufferBytes() + " bytes pinned";
    }

    @Override
    public String threadName() {
        return "weightpub-cuda" + device.ordinal();
    }

    @Override
    public long memoryBytes() {
        return deviceBytes;
    }

    @Override
    public String memoryName() {
        return "CUDA device " + device.ordinal();
    }

    @Override
    public SlotMemory allocate(String modelId, long bytes) {
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
    public long pinnedBytes() {
        return closed ? 0 : ring.pinnedBytes() + (long) readbackCount * readbackBytes;
    }

    @Override
    public long pinnedAllocations() {
        return pinnedAllocations.get();
    }

    @Override
    public void close() {
        closed = true;
        try {
            ring.close();
        } finally {
            for (int i = 0; i < readbackCount; i++) {
                PinnedBuffer buffer = borrow();
                buffer.free();
            }
            deviceHashing.shutdownNow();
            treeDigest.close();
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

    /** The 64 bytes of a CUDA IPC handle (JCuda keeps them in a private field). */
    private static byte[] ipcHandleBytes(CUipcMemHandle handle) {
        try {
            Field reserved = CUipcMemHandle.class.getDeclaredField("reserved");
            reserved.setAccessible(true);
            return ((byte[]) reserved.get(handle)).clone();
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot read the bytes of a CUDA IPC handle from JCuda", e);
        }
    }

    private final class DeviceMemory implements SlotMemory {
        private final DevicePointer pointer;
        private final long capacity;
        private volatile boolean freed;
        /** Names this allocation to engines, so they tell it from a later one at the same address or handle. */
        private final String allocation = SharedSlot.newAllocationId();
        /** Made once per allocation, when an engine first asks for it. */
        private SharedSlot shared;

        @Override
        public synchronized Optional<SharedSlot> share(long versionBytes) {
            if (freed) {
                return Optional.empty();
            }
            if (shared == null) {
                device.makeCurrent();
                CUipcMemHandle handle = new CUipcMemHandle();
                CudaDevice.check(JCudaDriver.cuIpcGetMemHandle(handle, pointer), "cuIpcGetMemHandle");
                shared = SharedSlot.cudaIpc(allocation, device.uuid(), ipcHandleBytes(handle), 0, capacity);
            }
            return Optional.of(SharedSlot.cudaIpc(allocation, shared.deviceUuid().orElseThrow(), shared.ipcHandle(), 0,
                    versionBytes));
        }

        @Override
        public Optional<String> sharedAllocation() {
            return freed ? Optional.empty() : Optional.of(allocation);
        }

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
        public CompletableFuture<byte[]> digest(long offset, long length, DigestScheme scheme, Executor pool,
                int parts) {
            if (!scheme.isTree()) {
                return SlotMemory.super.digest(offset, length, scheme, pool, parts);
            }
            check(offset, length);
            // Not the verify pool: these threads wait on the GPU, so more of them than CPU hashers pay.
            return CompletableFuture.supplyAsync(
                    () -> treeDigest.digest(pointer, offset, length, scheme.leafSize()), deviceHashing);
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
