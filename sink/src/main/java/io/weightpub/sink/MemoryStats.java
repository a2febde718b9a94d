package io.weightpub.sink;

/**
 * Memory a weight store holds: slot memory (device memory on CUDA, off-heap on host) and pinned
 * host staging/readback memory. Both are zero after {@link WeightStore#close()}.
 */
public record MemoryStats(int slots, long slotBytes, long pinnedBytes, long pinnedAllocations) {}
