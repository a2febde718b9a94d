package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

/** Settings of a {@link WeightStore}; immutable, built with {@link #builder()}. */
@PublicEvolving
public final class WeightStoreConfig implements Serializable {

    // Defaults, shared with SinkOptions; plain constants because a store runs without Flink too.
    public static final StoreBackend DEFAULT_BACKEND = StoreBackend.AUTO;
    public static final int DEFAULT_SLOTS_PER_MODEL = 2;
    public static final int DEFAULT_RESIDENT_VERSIONS = 0;
    public static final int DEFAULT_CUDA_DEVICE = -1;
    public static final int DEFAULT_STAGING_BUFFERS = 8;
    public static final int DEFAULT_STAGING_BUFFER_BYTES = 16 << 20;
    public static final int DEFAULT_COPY_THREADS = 8;
    public static final int DEFAULT_VERIFY_THREADS = 4;
    public static final Duration DEFAULT_LEASE_WAIT_TIMEOUT = Duration.ofSeconds(30);
    /** A memory budget of 0 is derived from the worker's memory ({@link #memoryFraction()}). */
    public static final long DERIVED_BUDGET = 0;
    public static final double DEFAULT_MEMORY_FRACTION = 0.8;

    private static final long serialVersionUID = 1L;

    private final StoreBackend backend;
    private final int slotsPerModel;
    private final int residentVersions;
    private final int cudaDevice;
    private final int stagingBuffers;
    private final int stagingBufferBytes;
    private final int copyThreads;
    private final int verifyThreads;
    private final Duration leaseWaitTimeout;
    private final long maxBytesPerModel;
    private final long maxBytesPerWorker;
    private final double memoryFraction;

    private WeightStoreConfig(Builder b) {
        this.backend = b.backend;
        this.slotsPerModel = b.slotsPerModel;
        this.residentVersions = b.residentVersions;
        this.cudaDevice = b.cudaDevice;
        this.stagingBuffers = b.stagingBuffers;
        this.stagingBufferBytes = b.stagingBufferBytes;
        this.copyThreads = b.copyThreads;
        this.verifyThreads = b.verifyThreads;
        this.leaseWaitTimeout = b.leaseWaitTimeout;
        this.maxBytesPerModel = b.maxBytesPerModel;
        this.maxBytesPerWorker = b.maxBytesPerWorker;
        this.memoryFraction = b.memoryFraction;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder()
                .backend(backend)
                .slotsPerModel(slotsPerModel)
                .residentVersions(residentVersions)
                .cudaDevice(cudaDevice)
                .stagingBuffers(stagingBuffers)
                .stagingBufferBytes(stagingBufferBytes)
                .copyThreads(copyThreads)
                .verifyThreads(verifyThreads)
                .leaseWaitTimeout(leaseWaitTimeout)
                .maxBytesPerModel(maxBytesPerModel)
                .maxBytesPerWorker(maxBytesPerWorker)
                .memoryFraction(memoryFraction);
    }

    public StoreBackend backend() {
        return backend;
    }

    /** Slots per model, at least 2: the active one and shadows. */
    public int slotsPerModel() {
        return slotsPerModel;
    }

    /**
     * Extra slots per model that keep retired versions resident, so a rollback to one of them is a
     * flip alone; allocated only while memory permits. Free shadow slots keep retired versions too,
     * until a publish needs them.
     */
    public int residentVersions() {
        return residentVersions;
    }

    /** CUDA device ordinal; -1 picks {@code worker % deviceCount}. */
    public int cudaDevice() {
        return cudaDevice;
    }

    /** Pinned staging buffers in the ring (CUDA). */
    public int stagingBuffers() {
        return stagingBuffers;
    }

    /** Bytes per pinned staging buffer (CUDA); also the piece size of device read-backs. */
    public int stagingBufferBytes() {
        return stagingBufferBytes;
    }

    /** Threads copying chunk payloads into pinned memory (CUDA); 1 copies on the caller's thread. */
    public int copyThreads() {
        return copyThreads;
    }

    /** Threads hashing buckets in parallel during verification. */
    public int verifyThreads() {
        return verifyThreads;
    }

    /** How long staging or close waits for readers to release a slot. */
    public Duration leaseWaitTimeout() {
        return leaseWaitTimeout;
    }

    /**
     * Most bytes of slot memory one model may hold (active, staged and resident slots together);
     * {@link #DERIVED_BUDGET}: the per-worker budget. A version may take at most half of it, since
     * it needs an active and a shadow slot.
     */
    public long maxBytesPerModel() {
        return maxBytesPerModel;
    }

    /**
     * Most bytes of slot memory all models of a worker may hold together; {@link #DERIVED_BUDGET}:
     * {@link #memoryFraction()} of the worker's memory (total device memory on CUDA, physical memory
     * on the host backend).
     */
    public long maxBytesPerWorker() {
        return maxBytesPerWorker;
    }

    /** The share of the worker's memory that a derived per-worker budget allows, in (0, 1]. */
    public double memoryFraction() {
        return memoryFraction;
    }

    @Override
    public String toString() {
        return "WeightStoreConfig{backend=" + backend + ", slotsPerModel=" + slotsPerModel + ", residentVersions="
                + residentVersions + ", cudaDevice="
                + cudaDevice + ", stagingBuffers=" + stagingBuffers + ", stagingBufferBytes=" + stagingBufferBytes
                + ", copyThreads=" + copyThreads + ", verifyThreads=" + verifyThreads + ", leaseWaitTimeout="
                + leaseWaitTimeout + ", maxBytesPerModel=" + maxBytesPerModel + ", maxBytesPerWorker="
                + maxBytesPerWorker + ", memoryFraction=" + memoryFraction + "}";
    }

    /** Builder; {@link #build()} checks every setting. */
    public static final class Builder {
        private StoreBackend backend = DEFAULT_BACKEND;
        private int slotsPerModel = DEFAULT_SLOTS_PER_MODEL;
        private int residentVersions = DEFAULT_RESIDENT_VERSIONS;
        private int cudaDevice = DEFAULT_CUDA_DEVICE;
        private int stagingBuffers = DEFAULT_STAGING_BUFFERS;
        private int stagingBufferBytes = DEFAULT_STAGING_BUFFER_BYTES;
        private int copyThreads = DEFAULT_COPY_THREADS;
        private int verifyThreads = DEFAULT_VERIFY_THREADS;
        private Duration leaseWaitTimeout = DEFAULT_LEASE_WAIT_TIMEOUT;
        private long maxBytesPerModel = DERIVED_BUDGET;
        private long maxBytesPerWorker = DERIVED_BUDGET;
        private double memoryFraction = DEFAULT_MEMORY_FRACTION;

        private Builder() {}

        public Builder backend(StoreBackend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        public Builder slotsPerModel(int slotsPerModel) {
            this.slotsPerModel = slotsPerModel;
            return this;
        }

        public Builder residentVersions(int residentVersions) {
            this.residentVersions = residentVersions;
            return this;
        }

        public Builder cudaDevice(int cudaDevice) {
            this.cudaDevice = cudaDevice;
            return this;
        }

        public Builder stagingBuffers(int stagingBuffers) {
            this.stagingBuffers = stagingBuffers;
            return this;
        }

        public Builder stagingBufferBytes(int stagingBufferBytes) {
            this.stagingBufferBytes = stagingBufferBytes;
            return this;
        }

        public Builder copyThreads(int copyThreads) {
            this.copyThreads = copyThreads;
            return this;
        }

        public Builder verifyThreads(int verifyThreads) {
            this.verifyThreads = verifyThreads;
            return this;
        }

        public Builder leaseWaitTimeout(Duration leaseWaitTimeout) {
            this.leaseWaitTimeout = Objects.requireNonNull(leaseWaitTimeout, "leaseWaitTimeout");
            return this;
        }

        public Builder maxBytesPerModel(long bytes) {
            this.maxBytesPerModel = bytes;
            return this;
        }

        public Builder maxBytesPerWorker(long bytes) {
            this.maxBytesPerWorker = bytes;
            return this;
        }

        public Builder memoryFraction(double fraction) {
            this.memoryFraction = fraction;
            return this;
        }

        public WeightStoreConfig build() {
            if (slotsPerModel < 2) {
                throw new IllegalArgumentException(
                        "slotsPerModel is " + slotsPerModel + ", must be at least 2 (active + shadow)");
            }
            if (residentVersions < 0) {
                throw new IllegalArgumentException("residentVersions is " + residentVersions + ", must be >= 0");
            }
            if (cudaDevice < -1) {
                throw new IllegalArgumentException("cudaDevice is " + cudaDevice + ", must be -1 (by worker) or >= 0");
            }
            if (stagingBuffers < 2) {
                throw new IllegalArgumentException(
                        "stagingBuffers is " + stagingBuffers + ", must be at least 2 to overlap copies");
            }
            if (stagingBufferBytes < 4096) {
                throw new IllegalArgumentException("stagingBufferBytes is " + stagingBufferBytes + ", must be >= 4096");
            }
            if (copyThreads < 1 || verifyThreads < 1) {
                throw new IllegalArgumentException("copyThreads (" + copyThreads + ") and verifyThreads ("
                        + verifyThreads + ") must be at least 1");
            }
            if (leaseWaitTimeout.isNegative() || leaseWaitTimeout.isZero()) {
                throw new IllegalArgumentException("leaseWaitTimeout is " + leaseWaitTimeout + ", must be positive");
            }
            if (maxBytesPerModel < 0 || maxBytesPerWorker < 0) {
                throw new IllegalArgumentException("memory budgets per model (" + maxBytesPerModel + ") and per "
                        + "worker (" + maxBytesPerWorker + ") must be positive, or 0 to derive them");
            }
            if (!(memoryFraction > 0 && memoryFraction <= 1)) {
                throw new IllegalArgumentException("memoryFraction is " + memoryFraction + ", must be in (0, 1]");
            }
            return new WeightStoreConfig(this);
        }
    }
}
