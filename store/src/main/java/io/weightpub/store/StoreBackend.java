package io.weightpub.store;

/** Where a worker's weight slots live. */
public enum StoreBackend {
    /** Off-heap host memory: CI, CPU-only hosts, tests. */
    HOST,
    /** GPU memory through JCuda, staged through a pinned host ring. */
    CUDA,
    /** {@link #CUDA} where a CUDA device is present, else {@link #HOST}; decided on the worker's host. */
    AUTO
}
