package io.weightpub.store.internal;

import io.weightpub.store.VersionInfo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/** One model's slots in a store: its active version and the publishes staged for it. */
final class Model {
    final String id;
    /**
     * Changed under the model's lock; copy-on-write so that {@link SlotStore#sharedAllocations} reads
     * it without that lock, which staging and verification hold for long. A model has a few slots.
     */
    final List<Slot> slots = new CopyOnWriteArrayList<>();
    final Map<String, Staged> staged = new LinkedHashMap<>();
    final AtomicReference<Active> active = new AtomicReference<>();
    /** Slots it may have; lowered when memory for a slot kept for resident versions runs out. */
    int allocatableSlots = Integer.MAX_VALUE;
    /** Capacity of its slots. */
    long slotBytes;
    long retirements;
    volatile String lastError;

    Model(String id) {
        this.id = id;
    }

    /** The active version: its slot, what it is, and its tensors. */
    static final class Active {
        final Slot slot;
        final VersionInfo info;
        final TensorTable tensors;

        Active(Slot slot, VersionInfo info, TensorTable tensors) {
            this.slot = slot;
            this.info = info;
            this.tensors = tensors;
        }
    }

    /** A committed version whose verified bytes a slot still holds. */
    record Resident(String publishId, long step, long versionBytes, TensorTable tensors) {}
}
