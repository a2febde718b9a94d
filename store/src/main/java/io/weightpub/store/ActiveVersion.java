package io.weightpub.store;

import org.apache.flink.annotation.PublicEvolving;

import java.util.List;
import java.util.Optional;

/**
 * A read lease on the version that was active when it was acquired. While the lease is open its
 * slot is pinned: flips may make a newer version active, but these bytes are not reused, so every
 * read through one lease sees one whole version. Close it promptly: a slot with open leases cannot
 * take the next publish.
 */
@PublicEvolving
public interface ActiveVersion extends AutoCloseable {

    VersionInfo info();

    /** Where {@link #slotAddress()} points. */
    StoreBackend location();

    /** Base address of the slot: a device pointer on CUDA, a host address on the host backend. */
    long slotAddress();

    /** Tensor names in manifest order. */
    List<String> tensorNames();

    /** Name → (slot address, offset, shape, dtype), from the manifest's tensor table. */
    Optional<TensorRef> tensor(String name);

    /** Copies {@code length} bytes at {@code versionOffset} of this version into {@code dst}. */
    void read(long versionOffset, byte[] dst, int dstOffset, int length);

    /** SHA-256 of bytes {@code [versionOffset, versionOffset + length)} of this version, read from its slot. */
    byte[] sha256(long versionOffset, long length);

    /** Releases the lease; idempotent. Reads after this throw {@link IllegalStateException}. */
    @Override
    void close();
}
