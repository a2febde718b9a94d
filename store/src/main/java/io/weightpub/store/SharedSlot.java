package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How another process on the same host maps a slot: a shared-memory file (host backend) or a CUDA
 * IPC handle of the slot's allocation (CUDA backend). The version's bytes start at {@code offset}
 * of what is mapped and take {@code sizeBytes}.
 *
 * @param allocation names the slot's memory: the same for every version that reuses that memory,
 *     different for every other allocation, also one whose address, handle bytes or file name come
 *     back after the first was freed, or that a restarted worker made (16 hex digits of a random
 *     64-bit value; {@link #newAllocationId()})
 * @param path the file to map, for {@link StoreBackend#HOST}; empty on CUDA
 * @param deviceUuid the device's UUID ({@code GPU-...}), for {@link StoreBackend#CUDA}
 * @param ipcHandle the 64 bytes of {@code cuIpcGetMemHandle} for the slot's allocation, for CUDA
 */
@PublicEvolving
public record SharedSlot(StoreBackend kind, String allocation, Optional<String> path, Optional<String> deviceUuid,
        byte[] ipcHandle, long offset, long sizeBytes) {

    private static final Pattern ALLOCATION = Pattern.compile("[0-9a-f]{16}");
    private static final SecureRandom RANDOM = new SecureRandom();

    public SharedSlot {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(allocation, "allocation");
        if (!ALLOCATION.matcher(allocation).matches()) {
            throw new IllegalArgumentException("allocation id '" + allocation + "' is not 16 lowercase hex digits");
        }
        ipcHandle = ipcHandle == null ? new byte[0] : ipcHandle.clone();
        if (offset < 0 || sizeBytes < 0) {
            throw new IllegalArgumentException("offset " + offset + " and size " + sizeBytes + " must not be negative");
        }
    }

    public static SharedSlot hostFile(String allocation, String path, long offset, long sizeBytes) {
        return new SharedSlot(StoreBackend.HOST, allocation, Optional.of(path), Optional.empty(), null, offset,
                sizeBytes);
    }

    public static SharedSlot cudaIpc(String allocation, String deviceUuid, byte[] ipcHandle, long offset,
            long sizeBytes) {
        return new SharedSlot(StoreBackend.CUDA, allocation, Optional.empty(), Optional.of(deviceUuid), ipcHandle,
                offset, sizeBytes);
    }

    /**
     * A fresh allocation id, made once per allocation of slot memory. Random rather than counted, so
     * that ids of a worker that restarted cannot repeat those an engine still remembers.
     */
    public static String newAllocationId() {
        return HexFormat.of().toHexDigits(RANDOM.nextLong());
    }

    @Override
    public byte[] ipcHandle() {
        return ipcHandle.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SharedSlot s && kind == s.kind && allocation.equals(s.allocation) && path.equals(s.path)
                && deviceUuid.equals(s.deviceUuid) && Arrays.equals(ipcHandle, s.ipcHandle) && offset == s.offset
                && sizeBytes == s.sizeBytes;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, allocation, path, deviceUuid, Arrays.hashCode(ipcHandle), offset, sizeBytes);
    }
}
