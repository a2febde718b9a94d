package io.weightpub.store.cuda;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import org.apache.flink.annotation.Internal;

import java.nio.charset.StandardCharsets;

/** One CUDA device through its primary context (shared with anything else in the process that uses it). */
@Internal
public final class CudaDevice implements AutoCloseable {

    private final int ordinal;
    private final CUdevice device;
    private final CUcontext context;
    private final String name;
    private boolean closed;

    private CudaDevice(int ordinal, CUdevice device, CUcontext context, String name) {
        this.ordinal = ordinal;
        this.device = device;
        this.context = context;
        this.name = name;
    }

    public static CudaDevice open(int ordinal) {
        check(JCudaDriver.cuInit(0), "cuInit");
        int[] count = new int[1];
        check(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
        if (ordinal < 0 || ordinal >= count[0]) {
            throw new IllegalStateException("CUDA device " + ordinal + " requested, the host has " + count[0]);
        }
        CUdevice device = new CUdevice();
        check(JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
        byte[] nameBytes = new byte[256];
        check(JCudaDriver.cuDeviceGetName(nameBytes, nameBytes.length, device), "cuDeviceGetName");
        int end = 0;
        while (end < nameBytes.length && nameBytes[end] != 0) {
            end++;
        }
        CUcontext context = new CUcontext();
        check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain(" + ordinal + ")");
        CudaDevice opened = new CudaDevice(ordinal, device, context,
                new String(nameBytes, 0, end, StandardCharsets.US_ASCII));
        opened.makeCurrent();
        return opened;
    }

    /** Binds the device's context to the calling thread; every thread that calls CUDA does this first. */
    public void makeCurrent() {
        check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent(device " + ordinal + ")");
    }

    public int ordinal() {
        return ordinal;
    }

    public String name() {
        return name;
    }

    CUdevice device() {
        return device;
    }

    /** Free and total device memory in bytes. */
    public long[] memInfo() {
        makeCurrent();
        long[] free = new long[1];
        long[] total = new long[1];
        check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    public static void check(int result, String call) {
        if (result != CUresult.CUDA_SUCCESS) {
            throw new IllegalStateException(call + " failed: " + CUresult.stringFor(result));
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            check(JCudaDriver.cuDevicePrimaryCtxRelease(device), "cuDevicePrimaryCtxRelease(" + ordinal + ")");
        }
    }
}
