package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

/** Where a worker's weight slots live. */
@PublicEvolving
public enum StoreBackend {
    /** Off-heap host memory: CI, CPU-only hosts, tests. */
    HOST,
    /** GPU memory through JCuda, staged through a pinned host ring. */
    CUDA,
    /** {@link #CUDA} where a CUDA device is present, else {@link #HOST}; decided on the worker's host. */
    AUTO
}
