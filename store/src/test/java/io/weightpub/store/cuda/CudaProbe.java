package io.weightpub.store.cuda;


/** Prints whether JCuda sees a CUDA device; exits 3 if not, so scripts can refuse to report skipped GPU tests as passed. */
public final class CudaProbe {

    private CudaProbe() {}

    public static void main(String[] args) {
        if (!CudaAvailability.isAvailable()) {
            System.out.println("no CUDA device: " + CudaAvailability.unavailableReason());
            System.exit(3);
        }
        try (CudaDevice device = CudaDevice.open(0)) {
            long[] mem = device.memInfo();
            System.out.printf("CUDA devices: %d; device 0: %s, %d MiB free of %d MiB%n",
                    CudaAvailability.deviceCount(), device.name(), mem[0] >> 20, mem[1] >> 20);
        }
    }
}
