package io.weightpub.store.spi;

import io.weightpub.store.StoreBackend;
import org.apache.flink.annotation.PublicEvolving;

/**
 * What a backend gives the slot store: memory for slots, and a way to wait for writes into it. The
 * slot store does everything else (slots, leases, budgets, verification, flips) the same way for
 * every backend. A new backend is a package with an implementation of this interface and of
 * {@link SlotMemory}, a {@link StoreBackend} constant, and a line in the factory that opens stores.
 *
 * <p>{@link #allocate} and {@link #awaitWrites} are called by the store's writer thread and its
 * verification threads; {@link #close} once, after every slot was freed.
 */
@PublicEvolving
public interface MemoryAllocator extends AutoCloseable {

    /** The backend (never {@link StoreBackend#AUTO}). */
    StoreBackend backend();

    /** Human-readable description of the memory, e.g. the device name; the store adds its slot count. */
    String describe();

    /** Prefix of the store's thread names, e.g. {@code weightpub-cuda0}. */
    String threadName();

    /** Bytes of the memory slots are allocated from; unset memory budgets are derived from it. */
    long memoryBytes();

    /** What {@link #memoryBytes()} measures, for log lines, e.g. {@code CUDA device 0}. */
    String memoryName();

    /**
     * Allocates memory for a slot of {@code bytes}; the caller owns it until it calls
     * {@link SlotMemory#free()}.
     *
     * @throws RuntimeException (or, for off-heap memory, {@link OutOfMemoryError}) when the memory could
     *     not be allocated; then nothing is allocated
     */
    SlotMemory allocate(String modelId, long bytes);

    /** Returns once every write issued so far has landed in slot memory. */
    void awaitWrites();

    /** Pinned host bytes the backend holds for staging and read-back (0 when it needs none). */
    long pinnedBytes();

    /** Pinned host allocations made since the backend opened. */
    long pinnedAllocations();

    /** Frees the backend's resources other than slots (which the store freed before). */
    @Override
    void close();
}
