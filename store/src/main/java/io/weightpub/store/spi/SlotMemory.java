package io.weightpub.store.spi;

import io.weightpub.store.SharedSlot;
import io.weightpub.schemas.DigestScheme;
import io.weightpub.schemas.ParallelDigest;
import org.apache.flink.annotation.PublicEvolving;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/** One slot's memory: a contiguous range on the host or on a device. */
@PublicEvolving
public interface SlotMemory {

    /** Base address (host address or device pointer). */
    long address();

    long capacity();

    /** How another process maps the first {@code versionBytes} of this memory; empty when it cannot. */
    default Optional<SharedSlot> share(long versionBytes) {
        return Optional.empty();
    }

    /**
     * The {@link SharedSlot#allocation()} that {@link #share} names this memory by, while the memory
     * is allocated and can be shared; empty once freed, and for memory no other process can map.
     */
    default Optional<String> sharedAllocation() {
        return Optional.empty();
    }

    /** Writes bytes at {@code offset}; may complete asynchronously until the store's writes are awaited. */
    void write(long offset, byte[] src, int from, int length);

    void read(long offset, byte[] dst, int dstOffset, int length);

    /** SHA-256 of {@code [offset, offset + length)} as it is in this memory now. */
    byte[] sha256(long offset, long length);

    /**
     * The digest of {@code [offset, offset + length)} under {@code scheme}, as these bytes are when the
     * tasks run: the flat SHA-256 as one task of {@code pool}, a tree's leaves split over at most
     * {@code parts} tasks of it.
     */
    default CompletableFuture<byte[]> digest(long offset, long length, DigestScheme scheme, Executor pool, int parts) {
        if (!scheme.isTree()) {
            return CompletableFuture.supplyAsync(() -> sha256(offset, length), pool);
        }
        return ParallelDigest.submit(this::read, offset, length, scheme, pool, parts);
    }

    void free();
}
