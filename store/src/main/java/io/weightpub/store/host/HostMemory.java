package io.weightpub.store.host;

import io.weightpub.store.spi.Sha256;
import io.weightpub.store.spi.SlotMemory;
import sun.misc.Unsafe;

import java.lang.reflect.Field;
import java.security.MessageDigest;

/**
 * Off-heap slot memory of the host backend. Raw allocation (rather than direct ByteBuffers) so a
 * slot can exceed 2 GiB and has a real address for tensor lookup.
 */
final class HostMemory implements SlotMemory {

    private static final Unsafe UNSAFE = unsafe();
    private static final long BYTE_ARRAY_BASE = UNSAFE.arrayBaseOffset(byte[].class);
    /** Piece size when hashing: large enough to amortise calls, small enough to stay in cache. */
    private static final int HASH_PIECE = 1 << 20;
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[HASH_PIECE]);

    private final long address;
    private final long capacity;
    private boolean freed;

    HostMemory(long capacity) {
        if (capacity < 0) {
            throw new IllegalArgumentException("slot capacity " + capacity + " is negative");
        }
        this.capacity = capacity;
        // allocateMemory(0) returns 0; keep a real (1-byte) allocation so every slot has an address.
        this.address = UNSAFE.allocateMemory(Math.max(1, capacity));
    }

    @Override
    public long address() {
        return address;
    }

    @Override
    public long capacity() {
        return capacity;
    }

    @Override
    public void write(long offset, byte[] src, int from, int length) {
        check(offset, length);
        UNSAFE.copyMemory(src, BYTE_ARRAY_BASE + from, null, address + offset, length);
    }

    @Override
    public void read(long offset, byte[] dst, int dstOffset, int length) {
        check(offset, length);
        if (dstOffset < 0 || dstOffset + length > dst.length) {
            throw new IndexOutOfBoundsException(
                    "destination [" + dstOffset + ", " + (dstOffset + length) + ") outside " + dst.length + " bytes");
        }
        UNSAFE.copyMemory(null, address + offset, dst, BYTE_ARRAY_BASE + dstOffset, length);
    }

    @Override
    public byte[] sha256(long offset, long length) {
        check(offset, length);
        MessageDigest digest = Sha256.newDigest();
        byte[] scratch = SCRATCH.get();
        long done = 0;
        while (done < length) {
            int piece = (int) Math.min(scratch.length, length - done);
            UNSAFE.copyMemory(null, address + offset + done, scratch, BYTE_ARRAY_BASE, piece);
            digest.update(scratch, 0, piece);
            done += piece;
        }
        return digest.digest();
    }

    @Override
    public synchronized void free() {
        if (!freed) {
            freed = true;
            UNSAFE.freeMemory(address);
        }
    }

    private void check(long offset, long length) {
        if (freed) {
            throw new IllegalStateException("slot memory at " + Long.toHexString(address) + " was freed");
        }
        if (offset < 0 || length < 0 || offset + length > capacity) {
            throw new IndexOutOfBoundsException(
                    "bytes [" + offset + ", " + (offset + length) + ") outside the slot's " + capacity + " bytes");
        }
    }

    private static Unsafe unsafe() {
        try {
            Field field = Unsafe.class.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            return (Unsafe) field.get(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("off-heap slots need sun.misc.Unsafe (module jdk.unsupported)", e);
        }
    }
}
