package io.weightpub.store.internal;

import io.weightpub.schemas.DigestScheme;
import io.weightpub.store.StagedPublish;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/** A publish staged in a slot of a model, with its early digests. */
final class Staged {
    final String publishId;
    final long step;
    final long versionBytes;
    final Slot slot;
    /** Staged on a retired slot that still held its verified bytes: held, not claimed (readers may pin it). */
    final boolean fromResident;
    final AtomicLong bytesWritten = new AtomicLong();
    volatile TensorTable verifiedTensors;
    /** Digests of buckets hashed while later ones still streamed; all finish before the slot moves on. */
    final List<Prehash> prehashes = new CopyOnWriteArrayList<>();

    Staged(String publishId, long step, long versionBytes, Slot slot, boolean fromResident) {
        this.publishId = publishId;
        this.step = step;
        this.versionBytes = versionBytes;
        this.slot = slot;
        this.fromResident = fromResident;
    }

    void invalidatePrehashes(long offset, long length) {
        for (Prehash prehash : prehashes) {
            if (prehash.valid && offset < prehash.offset + prehash.length && prehash.offset < offset + length) {
                prehash.valid = false;
            }
        }
    }

    /** The early digest of exactly [offset, offset + length) under {@code scheme}, if one is still valid. */
    Future<byte[]> validPrehash(long offset, long length, DigestScheme scheme) {
        for (Prehash prehash : prehashes) {
            if (prehash.valid && prehash.offset == offset && prehash.length == length
                    && prehash.scheme.equals(scheme)) {
                return prehash.digest;
            }
        }
        return null;
    }

    /** Waits until no early hash reads the slot any more (before it is verified, freed or reused). */
    void awaitPrehashes() {
        for (Prehash prehash : prehashes) {
            try {
                prehash.digest.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException e) {
                prehash.valid = false; // verify hashes the range again and reports what fails
            }
        }
    }

    StagedPublish describe(String modelId) {
        return new StagedPublish(modelId, publishId, step, versionBytes, bytesWritten.get(),
                verifiedTensors != null);
    }

    /** An early digest of a byte range of a staged publish. */
    static final class Prehash {
        final long offset;
        final long length;
        final DigestScheme scheme;
        final Future<byte[]> digest;
        volatile boolean valid = true;

        Prehash(long offset, long length, DigestScheme scheme, Future<byte[]> digest) {
            this.offset = offset;
            this.length = length;
            this.scheme = scheme;
            this.digest = digest;
        }
    }
}
