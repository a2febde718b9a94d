package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * How another process on the same host maps a slot: a shared-memory file (host backend) or a CUDA
 * IPC handle of the slot's allocation (CUDA backend). The version's bytes start at {@code offset}
 * of what is mapped and take {@code sizeBytes}.
 *
 * @param path the file to map, for {@link StoreBackend#HOST}; empty on CUDA
 * @param deviceUuid the device's UUID ({@code GPU-...}), for {@link StoreBackend#CUDA}
 * @param ipcHandle the 64 bytes of {@code cuIpcGetMemHandle} for the slot's allocation, for CUDA
 */
@PublicEvolving
public record SharedSlot(StoreBackend kind, Optional<String> path, Optional<String> deviceUuid, byte[] ipcHandle,
        long offset, long sizeBytes) {

    public SharedSlot {
        Objects.requireNonNull(kind, "kind");
        ipcHandle = ipcHandle == null ? new byte[0] : ipcHandle.clone();
        if (offset < 0 || sizeBytes < 0) {
            throw new IllegalArgumentException("offset " + offset + " and size " + sizeBytes + " must not be negative");
        }
    }

    public static SharedSlot hostFile(String path, long offset, long sizeBytes) {
        return new SharedSlot(StoreBackend.HOST, Optional.of(path), Optional.empty(), null, offset, sizeBytes);
    }

    public static SharedSlot cudaIpc(String deviceUuid, byte[] ipcHandle, long offset, long sizeBytes) {
        return new SharedSlot(StoreBackend.CUDA, Optional.empty(), Optional.of(deviceUuid), ipcHandle, offset,
                sizeBytes);
    }

    @Override
    public byte[] ipcHandle() {
        return ipcHandle.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SharedSlot s && kind == s.kind && path.equals(s.path) && deviceUuid.equals(s.deviceUuid)
                && Arrays.equals(ipcHandle, s.ipcHandle) && offset == s.offset && sizeBytes == s.sizeBytes;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, path, deviceUuid, Arrays.hashCode(ipcHandle), offset, sizeBytes);
    }
}
