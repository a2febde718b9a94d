package io.weightpub.store.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Host → device staging through a ring of pinned buffers, reused across versions. Adjacent chunks
 * are coalesced into one buffer; a buffer is sent with one asynchronous copy on the ring's stream
 * when it is full or the next chunk is not adjacent, and an event marks when that copy is done, so
 * the buffer is reused only after it. Payload copies into pinned memory run on several threads
 * (one thread copies about 7.5 GB/s, a PCIe Gen5 link takes about 54 GB/s), so {@link #write}
 * returns before its bytes are copied: payload arrays must not be modified afterwards.
 *
 * <p>{@link #write} and {@link #drain} are called by one thread at a time.
 */
final class PinnedStagingRing implements AutoCloseable {

    /** Smaller pieces are copied on the caller's thread: a hand-off costs more than the copy. */
    private static final int MIN_PARALLEL_COPY = 256 * 1024;

    private final CudaDevice device;
    private final CUstream stream;
    private final Buffer[] ring;
    private final int bufferBytes;
    private final ExecutorService copyPool;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private int next;
    private Buffer current;

    PinnedStagingRing(CudaDevice device, int buffers, int bufferBytes, int copyThreads) {
        this.device = device;
        this.bufferBytes = bufferBytes;
        device.makeCurrent();
        this.stream = new CUstream();
        CudaDevice.check(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        this.ring = new Buffer[buffers];
        try {
            for (int i = 0; i < buffers; i++) {
                ring[i] = new Buffer(new PinnedBuffer(bufferBytes));
            }
        } catch (RuntimeException e) {
            releaseBuffers();
            JCudaDriver.cuStreamDestroy(stream);
            throw e;
        }
        if (copyThreads > 1) {
            AtomicInteger count = new AtomicInteger();
            this.copyPool = Executors.newFixedThreadPool(copyThreads, r -> {
                Thread t = new Thread(r, "weightpub-cuda" + device.ordinal() + "-copy-" + count.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        } else {
            this.copyPool = null;
        }
    }

    long pinnedBytes() {
        return (long) ring.length * bufferBytes;
    }

    int buffers() {
        return ring.length;
    }

    /** Queues {@code length} bytes of {@code src} for {@code target + targetOffset}. */
    void write(CUdeviceptr target, long targetOffset, byte[] src, int from, int length) {
        throwIfFailed();
        while (length > 0) {
            if (current != null && (current.target != target || current.targetOffset + current.fill != targetOffset
                    || current.fill == bufferBytes)) {
                seal(current);
                current = null;
            }
            if (current == null) {
                current = acquire(target, targetOffset);
            }
            int piece = Math.min(length, bufferBytes - current.fill);
            int at = current.fill;
            current.fill += piece;
            copy(current, at, src, from, piece);
            targetOffset += piece;
            from += piece;
            length -= piece;
        }
    }

    /** Sends the partly filled buffer and waits until every copy issued so far has reached the device. */
    void drain() {
        if (current != null) {
            seal(current);
            current = null;
        }
        for (Buffer buffer : ring) {
            awaitIdle(buffer);
        }
        throwIfFailed();
    }

    private void copy(Buffer buffer, int at, byte[] src, int from, int length) {
        buffer.pending.incrementAndGet();
        if (copyPool == null || length < MIN_PARALLEL_COPY) {
            buffer.host.view().put(at, src, from, length);
            finishOne(buffer);
            return;
        }
        copyPool.execute(() -> {
            try {
                buffer.host.view().put(at, src, from, length);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                finishOne(buffer);
            }
        });
    }

    /** The seal is one more pending unit: whoever completes the last unit launches the copy. */
    private void seal(Buffer buffer) {
        finishOne(buffer);
    }

    private void finishOne(Buffer buffer) {
        if (buffer.pending.decrementAndGet() == 0) {
            launch(buffer);
        }
    }

    private void launch(Buffer buffer) {
        boolean recorded = false;
        try {
            device.makeCurrent();
            CudaDevice.check(JCudaDriver.cuMemcpyHtoDAsync(buffer.target.withByteOffset(buffer.targetOffset),
                    buffer.host.pointer(), buffer.fill, stream), "cuMemcpyHtoDAsync(" + buffer.fill + " bytes)");
            CudaDevice.check(JCudaDriver.cuEventRecord(buffer.event, stream), "cuEventRecord");
            recorded = true;
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            synchronized (buffer) {
                buffer.recorded = recorded;
                buffer.launched = true;
                buffer.notifyAll();
            }
        }
    }

    private Buffer acquire(CUdeviceptr target, long targetOffset) {
        Buffer buffer = ring[next];
        next = (next + 1) % ring.length;
        awaitIdle(buffer);
        buffer.target = target;
        buffer.targetOffset = targetOffset;
        buffer.fill = 0;
        buffer.launched = false;
        buffer.recorded = false;
        buffer.pending.set(1);
        return buffer;
    }

    private void awaitIdle(Buffer buffer) {
        boolean recorded;
        synchronized (buffer) {
            while (!buffer.launched) {
                try {
                    buffer.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for a pinned staging buffer", e);
                }
            }
            recorded = buffer.recorded;
        }
        if (recorded) {
            device.makeCurrent();
            CudaDevice.check(JCudaDriver.cuEventSynchronize(buffer.event), "cuEventSynchronize");
        }
    }

    private void throwIfFailed() {
        Throwable t = failure.get();
        if (t != null) {
            throw new IllegalStateException("staging to CUDA device " + device.ordinal() + " failed", t);
        }
    }

    @Override
    public void close() {
        try {
            drain();
        } finally {
            if (copyPool != null) {
                copyPool.shutdownNow();
            }
            device.makeCurrent();
            releaseBuffers();
            JCudaDriver.cuStreamDestroy(stream);
        }
    }

    private void releaseBuffers() {
        for (Buffer buffer : ring) {
            if (buffer != null) {
                JCudaDriver.cuEventDestroy(buffer.event);
                buffer.host.free();
            }
        }
    }

    /** One pinned buffer and the event of its latest copy. Fields other than pending are guarded by the ring's thread or the monitor. */
    private static final class Buffer {
        final PinnedBuffer host;
        final CUevent event = new CUevent();
        final AtomicInteger pending = new AtomicInteger();
        CUdeviceptr target;
        long targetOffset;
        int fill;
        boolean launched = true;
        boolean recorded;

        Buffer(PinnedBuffer host) {
            this.host = host;
            CudaDevice.check(JCudaDriver.cuEventCreate(event, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        }
    }
}
