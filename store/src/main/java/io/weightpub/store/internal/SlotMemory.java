package io.weightpub.store.internal;

/** One slot's memory: a contiguous range on the host or on a device. */
public interface SlotMemory {

    /** Base address (host address or device pointer). */
    long address();

    long capacity();

    /** Writes bytes at {@code offset}; may complete asynchronously until the store's writes are awaited. */
    void write(long offset, byte[] src, int from, int length);

    void read(long offset, byte[] dst, int dstOffset, int length);

    /** SHA-256 of {@code [offset, offset + length)} as it is in this memory now. */
    byte[] sha256(long offset, long length);

    void free();
}
