package io.weightpub.bench;

import io.weightpub.store.ActiveVersion;
import io.weightpub.store.CommitOutcome;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.VerifyResult;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.store.cuda.CudaAvailability;
import io.weightpub.store.cuda.CudaDevice;
import io.weightpub.store.cuda.DevicePointer;
import io.weightpub.store.cuda.PinnedBuffer;
import io.weightpub.testutils.TestVersion;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * GPU benchmark, in one run: raw pinned host → device bandwidth ({@code cuMemcpyHtoDAsync} of
 * 16 MiB pinned buffers), the CUDA store's staging throughput (1 MiB heap chunks through the
 * pinned ring until they are on the device) for several copy-thread counts, and flip latency
 * p50/p99/max while reader threads hold leases and copy tensors back. Writes
 * {@code cuda-staging.csv} and {@code cuda-staging.md} to the output directory.
 *
 * <p>Arguments: {@code OUT_DIR [versionMiB=2048] [rounds=3] [flips=200] [readers=4]}.
 */
public final class CudaStagingBenchmark {

    private static final int MIB = 1024 * 1024;
    private static final int CHUNK = MIB;
    private static final int RAW_PIECE = 16 * MIB;

    private CudaStagingBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: CudaStagingBenchmark OUT_DIR [versionMiB=2048] [rounds=3] [flips=200] [readers=4]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        long versionBytes = (args.length > 1 ? Long.parseLong(args[1]) : 2048) * MIB;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int flips = args.length > 3 ? Integer.parseInt(args[3]) : 200;
        int readers = args.length > 4 ? Integer.parseInt(args[4]) : 4;
        if (!CudaAvailability.isAvailable()) {
            System.err.println("no CUDA device: " + CudaAvailability.unavailableReason());
            System.exit(3);
        }
        List<String[]> rows = new ArrayList<>();
        try (CudaDevice device = CudaDevice.open(0)) {
            rows.add(new String[] {"device", device.name(), ""});
            rows.add(new String[] {"version_bytes", String.valueOf(versionBytes), "bytes"});
            double raw = rawPinnedBandwidth(device, versionBytes, rounds);
            rows.add(new String[] {"raw_pinned_htod", fmt(raw), "GB/s"});
            System.out.printf("raw pinned cuMemcpyHtoDAsync (16 MiB pieces): %.2f GB/s%n", raw);
            for (int threads : new int[] {1, 4, 8}) {
                double staged = storeStaging(versionBytes, rounds, threads);
                rows.add(new String[] {"store_staging_copy_threads_" + threads, fmt(staged), "GB/s"});
                rows.add(new String[] {"store_staging_ratio_copy_threads_" + threads, fmt(staged / raw), "x raw"});
                System.out.printf("store staging, %d copy threads: %.2f GB/s = %.3f x raw (goal >= 0.9)%n", threads,
                        staged, staged / raw);
            }
        }
        long[] flipNanos = flipLatency(flips, readers, rows);
        Arrays.sort(flipNanos);
        rows.add(new String[] {"flip_p50", fmt(percentile(flipNanos, 0.50) / 1e3), "us"});
        rows.add(new String[] {"flip_p99", fmt(percentile(flipNanos, 0.99) / 1e3), "us"});
        rows.add(new String[] {"flip_max", fmt(flipNanos[flipNanos.length - 1] / 1e3), "us"});
        System.out.printf("flip latency over %d flips with %d readers: p50 %.1f us, p99 %.1f us (goal < 1000), max %.1f us%n",
                flips, readers, percentile(flipNanos, 0.5) / 1e3, percentile(flipNanos, 0.99) / 1e3,
                flipNanos[flipNanos.length - 1] / 1e3);
        write(out, rows);
    }

    private static double rawPinnedBandwidth(CudaDevice device, long versionBytes, int rounds) {
        device.makeCurrent();
        PinnedBuffer pinned = new PinnedBuffer(RAW_PIECE);
        DevicePointer target = new DevicePointer();
        CudaDevice.check(JCudaDriver.cuMemAlloc(target, versionBytes), "cuMemAlloc");
        CUstream stream = new CUstream();
        CudaDevice.check(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        try {
            double best = 0;
            for (int r = 0; r <= rounds; r++) {
                long start = System.nanoTime();
                for (long off = 0; off < versionBytes; off += RAW_PIECE) {
                    long n = Math.min(RAW_PIECE, versionBytes - off);
                    CudaDevice.check(JCudaDriver.cuMemcpyHtoDAsync(target.withByteOffset(off), pinned.pointer(), n,
                            stream), "cuMemcpyHtoDAsync");
                }
                CudaDevice.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
                double gbs = versionBytes / (double) (System.nanoTime() - start);
                if (r > 0) { // round 0 warms up
                    best = Math.max(best, gbs);
                }
            }
            return best;
        } finally {
            JCudaDriver.cuStreamDestroy(stream);
            JCudaDriver.cuMemFree(target);
            pinned.free();
        }
    }

    private static double storeStaging(long versionBytes, int rounds, int copyThreads) {
        byte[][] payloads = new byte[64][CHUNK];
        SplittableRandom random = new SplittableRandom(7);
        for (byte[] payload : payloads) {
            random.nextBytes(payload);
        }
        WeightStoreConfig config = WeightStoreConfig.builder().backend(StoreBackend.CUDA).stagingBuffers(8)
                .stagingBufferBytes(16 * MIB).copyThreads(copyThreads).build();
        WeightStore store = WeightStore.open(config, 0);
        try {
            double best = 0;
            for (int r = 0; r <= rounds; r++) {
                String publish = "bench-" + copyThreads + "-" + r;
                store.stage("bench", publish, r, versionBytes);
                long start = System.nanoTime();
                long chunks = versionBytes / CHUNK;
                for (long i = 0; i < chunks; i++) {
                    store.write("bench", publish, i * CHUNK, payloads[(int) (i % payloads.length)], 0, CHUNK);
                }
                store.awaitWrites();
                double gbs = versionBytes / (double) (System.nanoTime() - start);
                store.abort("bench", publish);
                if (r > 0) {
                    best = Math.max(best, gbs);
                }
            }
            return best;
        } catch (io.weightpub.store.SlotsExhaustedException e) {
            throw new IllegalStateException(e);
        } finally {
            store.close();
        }
    }

    private static long[] flipLatency(int flips, int readers, List<String[]> rows) throws Exception {
        String model = "flip";
        int buckets = 4;
        int bucketBytes = MIB;
        WeightStore store = WeightStore.open(
                WeightStoreConfig.builder().backend(StoreBackend.CUDA).slotsPerModel(2).build(), 0);
        long[] nanos = new long[flips];
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong reads = new AtomicLong();
        AtomicLong mixed = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        try {
            stageAndCommit(store, TestVersion.of(model, 1, buckets, bucketBytes));
            List<String> expected = new ArrayList<>();
            for (long v = 0; v <= flips + 1; v++) {
                expected.add(v == 0 ? "" : TestVersion.of(model, v, buckets, bucketBytes).tensorSha256Hex(0, 0));
            }
            for (int r = 0; r < readers; r++) {
                Thread reader = new Thread(() -> {
                    while (!done.get()) {
                        try (ActiveVersion lease = store.acquire(model).orElseThrow()) {
                            var tensor = lease.tensor(TestVersion.tensorName(0, 0)).orElseThrow();
                            String digest = java.util.HexFormat.of()
                                    .formatHex(lease.sha256(tensor.offset(), tensor.sizeBytes()));
                            if (!digest.equals(expected.get((int) lease.info().version()))) {
                                mixed.incrementAndGet();
                            }
                            reads.incrementAndGet();
                        }
                    }
                });
                reader.start();
                threads.add(reader);
            }
            for (int f = 0; f < flips; f++) {
                TestVersion next = TestVersion.of(model, f + 2, buckets, bucketBytes);
                stageInto(store, next, MIB);
                VerifyResult result = store.verify(model, next.publishId(), next.manifest());
                if (!result.ok()) {
                    throw new IllegalStateException(result.describe());
                }
                long start = System.nanoTime();
                CommitOutcome outcome = store.commit(model, next.publishId(), next.version(), next.version());
                nanos[f] = System.nanoTime() - start;
                if (outcome != CommitOutcome.FLIPPED) {
                    throw new IllegalStateException("flip " + f + ": " + outcome);
                }
            }
        } finally {
            done.set(true);
            for (Thread t : threads) {
                t.join();
            }
            store.close();
        }
        rows.add(new String[] {"reader_reads_during_flips", String.valueOf(reads.get()), "reads"});
        rows.add(new String[] {"reader_mixed_versions", String.valueOf(mixed.get()), "reads"});
        System.out.printf("readers: %d reads during flips, %d saw bytes of another version%n", reads.get(), mixed.get());
        return nanos;
    }

    private static void stageAndCommit(WeightStore store, TestVersion version) throws Exception {
        stageInto(store, version, MIB);
        VerifyResult result = store.verify(version.modelId(), version.publishId(), version.manifest());
        if (!result.ok()) {
            throw new IllegalStateException(result.describe());
        }
        store.commit(version.modelId(), version.publishId(), version.version(), version.version());
    }

    /** Stages every chunk of {@code version} into {@code store}, each at its offset, as the sink writer does. */
    private static void stageInto(WeightStore store, TestVersion version, int chunkBytes) throws Exception {
        store.stage(version.modelId(), version.publishId(), version.step(), version.size());
        for (int i = 0; i < version.chunkCount(chunkBytes); i++) {
            byte[] payload = version.chunk(i, chunkBytes).payload();
            store.write(version.modelId(), version.publishId(), (long) i * chunkBytes, payload, 0, payload.length);
        }
    }

    private static double percentile(long[] sorted, double p) {
        int index = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static String fmt(double value) {
        return String.format("%.3f", value);
    }

    private static void write(Path out, List<String[]> rows) throws IOException {
        Files.createDirectories(out);
        StringBuilder csv = new StringBuilder("metric,value,unit\n");
        StringBuilder md = new StringBuilder("| metric | value | unit |\n|---|---|---|\n");
        for (String[] row : rows) {
            csv.append(String.join(",", row)).append('\n');
            md.append("| ").append(String.join(" | ", row)).append(" |\n");
        }
        Files.writeString(out.resolve("cuda-staging.csv"), csv, StandardCharsets.UTF_8);
        Files.writeString(out.resolve("cuda-staging.md"), md, StandardCharsets.UTF_8);
        System.out.println("wrote " + out.resolve("cuda-staging.csv") + " and " + out.resolve("cuda-staging.md"));
    }
}
