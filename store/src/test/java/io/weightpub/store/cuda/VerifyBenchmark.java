package io.weightpub.store.cuda;

import io.weightpub.schemas.DigestScheme;
import io.weightpub.schemas.ParallelDigest;
import io.weightpub.store.spi.Sha256;
import io.weightpub.store.WeightStoreConfig;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.DoubleSupplier;

/**
 * Verification throughput, side by side in one run. On a GPU, for each version size: the device
 * tree digest of 512 MiB buckets (256 KiB leaves), as many at once as the CUDA store hashes
 * ({@code device_tree_gbps}) and as many as its default verify threads ({@code
 * device_tree_gbps_4_streams}), each bucket by a thread on a stream of its own; the path
 * before tree digests, bytes copied back through 4 MiB pinned buffers and hashed with SHA-256 by
 * one thread per CPU core ({@code copyback_cpu_gbps}); a device-to-device copy of the same bytes,
 * the memory ceiling ({@code d2d_gbps}). Everywhere: the CPU tree digest of a 256 MiB bucket with 1
 * and 2 threads and the flat SHA-256 of it. Rows are {@code bench,case,metric,median,min,max,n,unit}
 * (the columns of results summary.csv) in {@code verify.csv}, and {@code verify.md}.
 *
 * <p>Arguments: {@code OUT_DIR [sizesGiB=2,8,32] [rounds=3]}. A main in the store's tests, where the
 * CUDA backend's classes are (only they use JCuda); {@code scripts/gpu-tests.sh verify-bench} runs it.
 */
public final class VerifyBenchmark {

    private static final long MIB = 1L << 20;
    private static final long BUCKET = 512 * MIB;
    private static final int READBACK = (int) (4 * MIB);
    private static final DigestScheme TREE = DigestScheme.defaultTree();

    private VerifyBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: VerifyBenchmark OUT_DIR [sizesGiB=2,8,32] [rounds=3]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        long[] sizesGib = Arrays.stream((args.length > 1 ? args[1] : "2,8,32").split(","))
                .mapToLong(Long::parseLong).toArray();
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        List<String> rows = new ArrayList<>();
        cpu(rows, rounds);
        if (CudaAvailability.isAvailable()) {
            try (CudaDevice device = CudaDevice.open(0); DeviceTreeDigest tree = new DeviceTreeDigest(device)) {
                for (int i = 0; i < sizesGib.length; i++) {
                    device(device, tree, sizesGib[i], rounds, rows, i == 0);
                }
            }
        } else {
            System.out.println("no CUDA device (" + CudaAvailability.unavailableReason() + "): CPU figures only");
        }
        Files.createDirectories(out);
        StringBuilder csv = new StringBuilder("bench,case,metric,median,min,max,n,unit\n");
        StringBuilder md = new StringBuilder("| case | metric | median | min | max | n | unit |\n|---|---|---|---|---|---|---|\n");
        for (String row : rows) {
            csv.append(row).append('\n');
            md.append("| ").append(String.join(" | ", Arrays.copyOfRange(row.split(","), 1, 8))).append(" |\n");
        }
        Files.writeString(out.resolve("verify.csv"), csv, StandardCharsets.UTF_8);
        Files.writeString(out.resolve("verify.md"), md, StandardCharsets.UTF_8);
        System.out.print(md);
        System.out.println("wrote " + out.resolve("verify.csv") + " and " + out.resolve("verify.md"));
    }

    private static void cpu(List<String> rows, int rounds) throws Exception {
        byte[] bucket = new byte[(int) (256 * MIB)];
        new SplittableRandom(15).nextBytes(bucket);
        ParallelDigest.ByteSource source = (offset, dst, at, length) -> System.arraycopy(bucket, (int) offset, dst, at,
                length);
        for (int threads : new int[] {1, 2}) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                rows.add(row("cpu-256MiB", "cpu_tree_gbps_" + threads + "t", rounds, () -> time(bucket.length,
                        () -> ParallelDigest.submit(source, 0, bucket.length, TREE, pool, threads).join())));
            } finally {
                pool.shutdownNow();
            }
        }
        rows.add(row("cpu-256MiB", "cpu_sha256_gbps_1t", rounds, () -> time(bucket.length,
                () -> Sha256.newDigest().digest(bucket))));
    }

    private static void device(CudaDevice device, DeviceTreeDigest tree, long gib, int rounds, List<String> rows,
            boolean first) throws Exception {
        long size = gib << 30;
        String label = gib + "GiB";
        device.makeCurrent();
        DevicePointer data = new DevicePointer();
        DevicePointer copy = new DevicePointer();
        CudaDevice.check(JCudaDriver.cuMemAlloc(data, size), "cuMemAlloc(" + size + ")");
        CudaDevice.check(JCudaDriver.cuMemAlloc(copy, size), "cuMemAlloc(" + size + ")");
        try {
            CudaDevice.check(JCudaDriver.cuMemsetD32(data, 0x9e3779b9, size / 4), "cuMemsetD32");
            if (first) {
                long start = System.nanoTime();
                tree.digest(data, 0, BUCKET, TREE.leafSize()); // loads (JIT-compiles) the PTX
                rows.add(String.join(",", "verify", label, "ptx_load_and_first_bucket_ms",
                        fmt((System.nanoTime() - start) / 1e6), "", "", "1", "ms"));
            }
            int streams = CudaAllocator.DEVICE_HASH_STREAMS;
            rows.add(row(label, "device_tree_gbps", rounds, () -> deviceTree(device, tree, data, size, streams)));
            int fewer = WeightStoreConfig.DEFAULT_VERIFY_THREADS;
            rows.add(row(label, "device_tree_gbps_" + fewer + "_streams", rounds,
                    () -> deviceTree(device, tree, data, size, fewer)));
            rows.add(row(label, "copyback_cpu_gbps", Math.min(rounds, 2), () -> copyBack(device, data, size)));
            rows.add(row(label, "d2d_gbps", rounds, () -> time(size, () -> {
                CudaDevice.check(JCudaDriver.cuMemcpyDtoD(copy, data, size), "cuMemcpyDtoD");
                CudaDevice.check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
            })));
        } finally {
            JCudaDriver.cuMemFree(copy);
            JCudaDriver.cuMemFree(data);
        }
    }

    /** Buckets handed to {@code threads} threads as the store's verify pool does, each on its own stream. */
    private static double deviceTree(CudaDevice device, DeviceTreeDigest tree, DevicePointer data, long size,
            int threads) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            return time(size, () -> {
                List<Future<byte[]>> roots = new ArrayList<>();
                for (long off = 0; off < size; off += BUCKET) {
                    long at = off;
                    roots.add(pool.submit(() -> tree.digest(data, at, Math.min(BUCKET, size - at), TREE.leafSize())));
                }
                for (Future<byte[]> root : roots) {
                    root.get();
                }
            });
        } finally {
            pool.shutdownNow();
        }
    }

    /** The path before tree digests: each bucket copied back in 4 MiB pieces and hashed, a thread per core. */
    private static double copyBack(CudaDevice device, DevicePointer data, long size) {
        int threads = Runtime.getRuntime().availableProcessors();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        PinnedBuffer[] buffers = new PinnedBuffer[threads];
        java.util.concurrent.BlockingQueue<PinnedBuffer> free = new java.util.concurrent.ArrayBlockingQueue<>(threads);
        for (int i = 0; i < threads; i++) {
            buffers[i] = new PinnedBuffer(READBACK);
            free.add(buffers[i]);
        }
        try {
            return time(size, () -> {
                List<Future<byte[]>> digests = new ArrayList<>();
                for (long off = 0; off < size; off += BUCKET) {
                    long at = off;
                    digests.add(pool.submit(() -> {
                        device.makeCurrent();
                        PinnedBuffer buffer = free.take();
                        try {
                            MessageDigest sha = Sha256.newDigest();
                            long end = Math.min(size, at + BUCKET);
                            for (long p = at; p < end; p += READBACK) {
                                int n = (int) Math.min(READBACK, end - p);
                                CudaDevice.check(JCudaDriver.cuMemcpyDtoH(buffer.pointer(), data.withByteOffset(p), n),
                                        "cuMemcpyDtoH");
                                sha.update(buffer.view().slice(0, n));
                            }
                            return sha.digest();
                        } finally {
                            free.add(buffer);
                        }
                    }));
                }
                for (Future<byte[]> digest : digests) {
                    digest.get();
                }
            });
        } finally {
            pool.shutdownNow();
            for (PinnedBuffer buffer : buffers) {
                buffer.free();
            }
        }
    }

    @FunctionalInterface
    private interface Work {
        void run() throws Exception;
    }

    /** GB/s (10^9 bytes a second) of one run of {@code work} over {@code bytes}. */
    private static double time(long bytes, Work work) {
        long start = System.nanoTime();
        try {
            work.run();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return bytes / (double) (System.nanoTime() - start);
    }

    /** One warm-up, then {@code rounds} measured runs: a summary.csv row. */
    private static String row(String label, String metric, int rounds, DoubleSupplier run) {
        run.getAsDouble();
        double[] values = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            values[r] = run.getAsDouble();
        }
        Arrays.sort(values);
        double median = rounds % 2 == 1 ? values[rounds / 2] : (values[rounds / 2 - 1] + values[rounds / 2]) / 2;
        System.out.printf("verify %s %s: %.2f GB/s (min %.2f, max %.2f)%n", label, metric, median, values[0],
                values[rounds - 1]);
        return String.join(",", "verify", label, metric, fmt(median), fmt(values[0]), fmt(values[rounds - 1]),
                String.valueOf(rounds), "GB/s");
    }

    private static String fmt(double v) {
        return String.format(java.util.Locale.ROOT, "%.3f", v);
    }
}
