package io.weightpub.store.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import org.apache.flink.annotation.Internal;

/**
 * Whether this JVM can use a CUDA device through JCuda. Checked once; never throws: on a host
 * without the driver (no {@code libcuda.so.1}) or without a device it answers false and says why.
 */
@Internal
public final class CudaAvailability {

    private static final class Probe {
        static final int DEVICES;
        static final String REASON;

        static {
            int devices = 0;
            String reason;
            try {
                int result = JCudaDriver.cuInit(0);
                if (result != CUresult.CUDA_SUCCESS) {
                    reason = "cuInit failed: " + CUresult.stringFor(result);
                } else {
                    int[] count = new int[1];
                    result = JCudaDriver.cuDeviceGetCount(count);
                    devices = result == CUresult.CUDA_SUCCESS ? count[0] : 0;
                    reason = result != CUresult.CUDA_SUCCESS
                            ? "cuDeviceGetCount failed: " + CUresult.stringFor(result)
                            : devices == 0 ? "the driver reports no CUDA device" : "";
                }
            } catch (Throwable t) {
                // No driver library, or no JCuda native for this platform.
                reason = "JCuda could not load the CUDA driver: " + summary(t);
            }
            DEVICES = devices;
            REASON = reason;
        }
    }

    private CudaAvailability() {}

    /** JCuda's load errors carry whole nested stack traces; keep the first line and the missing library. */
    private static String summary(Throwable t) {
        String message = String.valueOf(t.getMessage());
        String[] lines = message.split("\\R");
        StringBuilder out = new StringBuilder(t.getClass().getName()).append(": ").append(lines[0]);
        for (String line : lines) {
            if (line.contains("cannot open shared object file")) {
                out.append(" (").append(line.strip()).append(")");
                break;
            }
        }
        return out.toString();
    }

    public static boolean isAvailable() {
        return Probe.DEVICES > 0;
    }

    public static int deviceCount() {
        return Probe.DEVICES;
    }

    /** Why CUDA is not available; empty when it is. */
    public static String unavailableReason() {
        return Probe.REASON;
    }
}
