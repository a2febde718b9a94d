package io.weightpub.store.internal;

import io.weightpub.store.ActiveVersion;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.TensorRef;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.internal.Model.Active;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A reader's pin on the slot of an active version: the slot is not reused until the lease is
 * closed, so the version it names stays readable after later flips.
 */
final class SlotLease implements ActiveVersion {
    private final Active active;
    private final StoreBackend backend;
    private final AtomicBoolean released = new AtomicBoolean();

    SlotLease(Active active, StoreBackend backend) {
        this.active = active;
        this.backend = backend;
    }

    @Override
    public VersionInfo info() {
        return active.info;
    }

    @Override
    public StoreBackend location() {
        return backend;
    }

    @Override
    public long slotAddress() {
        return active.slot.memory.address();
    }

    @Override
    public List<String> tensorNames() {
        return active.tensors.names();
    }

    @Override
    public Optional<TensorRef> tensor(String name) {
        return active.tensors.lookup(name, active.slot.memory.address());
    }

    @Override
    public void read(long versionOffset, byte[] dst, int dstOffset, int length) {
        checkHeld(versionOffset, length);
        active.slot.memory.read(versionOffset, dst, dstOffset, length);
    }

    @Override
    public byte[] sha256(long versionOffset, long length) {
        checkHeld(versionOffset, length);
        return active.slot.memory.sha256(versionOffset, length);
    }

    private void checkHeld(long offset, long length) {
        if (released.get()) {
            throw new IllegalStateException("lease on version " + active.info.version() + " of model "
                    + active.info.modelId() + " was released");
        }
        if (offset < 0 || length < 0 || length > active.info.sizeBytes() - offset) {
            throw new IndexOutOfBoundsException("bytes [" + offset + ", " + (offset + length)
                    + ") outside version " + active.info.version() + " of model " + active.info.modelId() + " ("
                    + active.info.sizeBytes() + " bytes)");
        }
    }

    @Override
    public void close() {
        if (released.compareAndSet(false, true)) {
            active.slot.unpin();
        }
    }
}
