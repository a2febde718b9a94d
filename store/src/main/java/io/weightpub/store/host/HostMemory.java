package io.weightpub.store.host;

import io.weightpub.store.SharedSlot;
import io.weightpub.store.spi.Sha256;
import io.weightpub.store.spi.SlotMemory;
import sun.misc.Unsafe;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * Off-heap slot memory of the host backend: a raw allocation (so a private slot can exceed 2 GiB),
 * or a memory-mapped file in a shared-memory directory that engine processes map too. Either way
 * a real address for tensor lookup.
 */
final class HostMemory implements SlotMemory {

    private static final Unsafe UNSAFE = unsafe();
    private static final long BYTE_ARRAY_BASE = UNSAFE.arrayBaseOffset(byte[].class);
    /** Piece size when hashing: large enough to amortise calls, small enough to stay in cache. */
    private static final int HASH_PIECE = 1 << 20;
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[HASH_PIECE]);

    private static final long BUFFER_ADDRESS = bufferAddressOffset();

    private final long address;
    private final long capacity;
    /** The mapping and its file when shared; null for private memory. */
    private final MappedByteBuffer mapping;
    private final Path file;
    /** Names the shared file's memory to engines ({@link SharedSlot#allocation()}); null for private memory. */
    private final String allocation;
    private volatile boolean freed;

    HostMemory(long capacity) {
        checkCapacity(capacity);
        this.capacity = capacity;
        // allocateMemory(0) returns 0; keep a real (1-byte) allocation so every slot has an address.
        this.address = UNSAFE.allocateMemory(Math.max(1, capacity));
        this.mapping = null;
        this.file = null;
        this.allocation = null;
    }

    private HostMemory(long capacity, MappedByteBuffer mapping, Path file) {
        this.capacity = capacity;
        this.mapping = mapping;
        this.file = file;
        this.allocation = SharedSlot.newAllocationId();
        this.address = UNSAFE.getLong(mapping, BUFFER_ADDRESS);
    }

    /**
     * A slot in a new file {@code name} of {@code directory} (owner read/write only), mapped shared.
     * One mapping holds at most 2 GiB - 1 bytes, so a larger version needs private memory or CUDA.
     */
    static HostMemory shared(Path directory, String name, long capacity) {
        checkCapacity(capacity);
        if (capacity > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a shared host slot holds at most " + Integer.MAX_VALUE
                    + " bytes (one file mapping), not " + capacity + ": serve larger versions from the CUDA backend");
        }
        Path file = directory.resolve(name);
        try {
            Files.createDirectories(directory);
            long free = Files.getFileStore(directory).getUsableSpace();
            if (free < capacity) {
                // Touching a page a full tmpfs cannot back kills the JVM with SIGBUS: refuse up front.
                throw new IOException(directory + " has " + free + " bytes free, the slot needs " + capacity);
            }
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                MappedByteBuffer mapping = channel.map(FileChannel.MapMode.READ_WRITE, 0, Math.max(1, capacity));
                return new HostMemory(capacity, mapping, file);
            }
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new UncheckedIOException("cannot allocate a shared host slot of " + capacity + " bytes as " + file,
                    e instanceof IOException io ? io : new IOException(e));
        }
    }

    private static void checkCapacity(long capacity) {
        if (capacity < 0) {
            throw new IllegalArgumentException("slot capacity " + capacity + " is negative");
        }
    }

    @Override
    public Optional<SharedSlot> share(long versionBytes) {
        return file == null ? Optional.empty()
                : Optional.of(SharedSlot.hostFile(allocation, file.toString(), 0, versionBytes));
    }

    @Override
    public Optional<String> sharedAllocation() {
        return freed ? Optional.empty() : Optional.ofNullable(allocation);
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
        if (freed) {
            return;
        }
        freed = true;
        if (mapping == null) {
            UNSAFE.freeMemory(address);
            return;
        }
        UNSAFE.invokeCleaner(mapping);
        try {
            // An engine that still maps it keeps its pages until it unmaps; the name goes now.
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("slot file " + file + " could not be removed", e);
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

    private static long bufferAddressOffset() {
        try {
            return UNSAFE.objectFieldOffset(Buffer.class.getDeclaredField("address"));
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException("java.nio.Buffer has no address field on this JDK", e);
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
