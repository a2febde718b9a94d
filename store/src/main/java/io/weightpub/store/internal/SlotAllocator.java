package io.weightpub.store.internal;

import io.weightpub.store.MemoryBudgetExceededException;
import io.weightpub.store.SlotAllocationException;
import io.weightpub.store.SlotsExhaustedException;
import io.weightpub.store.StagedPublish;
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.store.internal.Model.Active;
import io.weightpub.store.spi.MemoryAllocator;
import io.weightpub.store.spi.SlotMemory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Gives a publish a slot of a model: picks a free one or allocates one, sized to the version and
 * kept within the store's {@link MemoryBudget}. Retired versions are evicted only when that makes
 * enough room; a publish that still does not fit is refused before anything is allocated, and a
 * failed allocation leaves the model's slots as they were. Called under the store's allocation lock
 * and the model's lock.
 */
final class SlotAllocator {

    private static final Logger LOG = LoggerFactory.getLogger(SlotAllocator.class);
    private static final long WAIT_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

    private final MemoryAllocator backend;
    private final WeightStoreConfig config;
    private final MemoryBudget budget;
    /** Every model of the store, whose free slots eviction may take for the worker's budget. */
    private final Map<String, Model> models;
    /** Capacity of every model's slots together. */
    private final AtomicLong slotBytes = new AtomicLong();

    SlotAllocator(MemoryAllocator backend, WeightStoreConfig config, MemoryBudget budget, Map<String, Model> models) {
        this.backend = backend;
        this.config = config;
        this.budget = budget;
        this.models = models;
    }

    MemoryBudget budget() {
        return budget;
    }

    /**
     * Picks a slot for new bytes: first a free slot holding no retired version, then a new slot while
     * the model has fewer than {@code slotsPerModel + residentVersions}, then the free slot whose
     * version retired longest ago. Retired versions so stay resident as long as possible, for
     * rollbacks by a flip alone.
     */
    Slot claimSlot(Model model, String publishId, long versionBytes) throws SlotsExhaustedException {
        long deadline = System.nanoTime() + config.leaseWaitTimeout().toNanos();
        int capacity = config.slotsPerModel() + config.residentVersions();
        while (true) {
            List<Slot> free = freeSlots(model);
            for (Slot slot : free) {
                if (slot.resident == null && slot.tryClaim()) {
                    return fit(model, slot, publishId, versionBytes);
                }
            }
            if (model.slots.size() < Math.min(capacity, model.allocatableSlots)) {
                Slot slot = newSlot(model, publishId, versionBytes, free.isEmpty());
                if (slot != null) {
                    return slot;
                }
            }
            for (Slot slot : free) {
                if (slot.tryClaim()) {
                    if (slot.resident != null) {
                        LOG.info("model {}: publish {} reuses the slot of retired publish {}; it is no longer "
                                + "resident", model.id, publishId, slot.resident.publishId());
                    }
                    return fit(model, slot, publishId, versionBytes);
                }
            }
            if (free.isEmpty()) {
                List<StagedPublish> holders = model.staged.values().stream().map(s -> s.describe(model.id)).toList();
                throw new SlotsExhaustedException("model " + model.id + ": publish " + publishId
                        + " has no free slot; all " + model.slots.size() + " slots are active or held by "
                        + holders.stream().map(StagedPublish::publishId).toList(), holders);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("model " + model.id + ": publish " + publishId + " waited "
                        + config.leaseWaitTimeout() + " for readers to release a retired slot");
            }
            LockSupport.parkNanos(WAIT_PARK_NANOS);
        }
    }

    /** The model's slots neither active nor staged: no retired version first, then the longest retired. */
    static List<Slot> freeSlots(Model model) {
        Active active = model.active.get();
        Set<Slot> held = new HashSet<>();
        model.staged.values().forEach(s -> held.add(s.slot));
        List<Slot> free = new ArrayList<>();
        for (Slot slot : model.slots) {
            if ((active == null || slot != active.slot) && !held.contains(slot)) {
                free.add(slot);
            }
        }
        free.sort(Comparator.comparing((Slot s) -> s.resident != null).thenComparingLong(s -> s.retiredSeq));
        return free;
    }

    /**
     * A new slot, or null when it is not {@code required} (a free slot can be reused instead) and does
     * not fit the budget, or its memory ran out (the model then keeps the slots it has). A required
     * slot evicts other models' retired versions to fit the worker's budget, or fails.
     */
    private Slot newSlot(Model model, String publishId, long versionBytes, boolean required) {
        if (!budget.fits(model.slotBytes + versionBytes, slotBytes.get() + versionBytes)) {
            if (!required) {
                return null;
            }
            makeRoom(model, publishId, versionBytes, versionBytes, null);
        }
        try {
            Slot slot = new Slot(allocateMemory(model, publishId, versionBytes));
            model.slots.add(slot);
            return slot;
        } catch (SlotAllocationException e) {
            if (required) {
                throw e;
            }
            LOG.warn("model {}: no memory for another slot of {} bytes; keeping {} slots", model.id, versionBytes,
                    model.slots.size(), e);
            model.allocatableSlots = model.slots.size();
            return null;
        }
    }

    /**
     * The claimed slot with its old content forgotten, replaced by a bigger one if too small. When the
     * budget has room for both, the bigger slot is allocated before the old one is freed, so a failure
     * changes nothing; otherwise the old one is freed first and, if the allocation then fails, dropped.
     * On failure the slot is unclaimed again, its retired version still resident if it was kept.
     */
    private Slot fit(Model model, Slot slot, String publishId, long versionBytes) {
        long capacity = slot.memory.capacity();
        if (capacity >= versionBytes) {
            slot.resident = null;
            return slot;
        }
        try {
            if (budget.fits(model.slotBytes + versionBytes, slotBytes.get() + versionBytes)) {
                SlotMemory bigger = allocateMemory(model, publishId, versionBytes);
                // Writes to the old slot have all landed before it is freed.
                backend.awaitWrites();
                freeMemory(model, slot.memory);
                return replace(model, slot, bigger);
            }
            makeRoom(model, publishId, versionBytes, versionBytes - capacity, slot);
            backend.awaitWrites();
            freeMemory(model, slot.memory);
            SlotMemory bigger;
            try {
                bigger = allocateMemory(model, publishId, versionBytes);
            } catch (SlotAllocationException e) {
                model.slots.remove(slot);
                throw e;
            }
            return replace(model, slot, bigger);
        } catch (RuntimeException e) {
            slot.release();
            throw e;
        }
    }

    private static Slot replace(Model model, Slot slot, SlotMemory memory) {
        Slot bigger = new Slot(memory);
        model.slots.set(model.slots.indexOf(slot), bigger);
        return bigger;
    }

    /**
     * Evicts free slots (with their retired versions) until the model's and the worker's slots fit
     * their budgets with {@code extraBytes} more: this model's first, then, for the worker's budget,
     * other models'. Slots readers still hold are not evicted. When that cannot make enough room it
     * evicts nothing and throws.
     */
    private void makeRoom(Model model, String publishId, long versionBytes, long extraBytes, Slot keep) {
        long modelOver = model.slotBytes + extraBytes - budget.perModel();
        long workerOver = slotBytes.get() + extraBytes - budget.perWorker();
        Map<Model, List<Slot>> claimed = new LinkedHashMap<>();
        long ownBytes = claimFree(model, keep, Math.max(modelOver, workerOver), claimed);
        long otherBytes = 0;
        if (ownBytes >= modelOver) {
            for (Model other : models.values()) {
                if (other != model && ownBytes + otherBytes < workerOver) {
                    synchronized (other) {
                        otherBytes += claimFree(other, null, workerOver - ownBytes - otherBytes, claimed);
                    }
                }
            }
        }
        if (ownBytes < modelOver || ownBytes + otherBytes < workerOver) {
            claimed.forEach((owner, slots) -> {
                synchronized (owner) {
                    slots.forEach(Slot::release);
                }
            });
            String holders = "the model's slots hold " + model.slotBytes + " bytes, the worker's " + slotBytes.get()
                    + ", of which " + (ownBytes + otherBytes) + " could be evicted";
            throw ownBytes < modelOver
                    ? budget.exceeded(MemoryBudgetExceededException.Budget.MODEL, model.id, publishId, versionBytes,
                            model.slotBytes + extraBytes - ownBytes, holders)
                    : budget.exceeded(MemoryBudgetExceededException.Budget.WORKER, model.id, publishId,
                            versionBytes, slotBytes.get() + extraBytes - ownBytes - otherBytes, holders);
        }
        backend.awaitWrites();
        claimed.forEach((owner, slots) -> {
            synchronized (owner) {
                for (Slot slot : slots) {
                    LOG.info("model {}: evicted a slot of {} bytes{} to make room for publish {} of model {}",
                            owner.id, slot.memory.capacity(), slot.resident == null ? ""
                                    : " holding retired publish " + slot.resident.publishId(), publishId, model.id);
                    freeMemory(owner, slot.memory);
                    owner.slots.remove(slot);
                }
            }
        });
    }

    /** Claims free slots of {@code owner} (other than {@code keep}) until {@code wanted} bytes; returns their bytes. */
    private static long claimFree(Model owner, Slot keep, long wanted, Map<Model, List<Slot>> claimed) {
        long bytes = 0;
        for (Slot slot : freeSlots(owner)) {
            if (bytes >= wanted) {
                break;
            }
            if (slot != keep && slot.tryClaim()) {
                claimed.computeIfAbsent(owner, o -> new ArrayList<>()).add(slot);
                bytes += slot.memory.capacity();
            }
        }
        return bytes;
    }

    private SlotMemory allocateMemory(Model model, String publishId, long bytes) {
        SlotMemory memory;
        try {
            memory = backend.allocate(model.id, bytes);
        } catch (RuntimeException | OutOfMemoryError e) {
            // Off-heap and device memory report failure so; the Java heap is not involved.
            throw new SlotAllocationException(model.id, publishId, bytes, "model " + model.id + ": publish "
                    + publishId + " needs a slot of " + bytes + " bytes, which could not be allocated on "
                    + backend.describe() + ": " + e.getMessage(), e);
        }
        model.slotBytes += memory.capacity();
        slotBytes.addAndGet(memory.capacity());
        return memory;
    }

    void freeMemory(Model model, SlotMemory memory) {
        memory.free();
        model.slotBytes -= memory.capacity();
        slotBytes.addAndGet(-memory.capacity());
    }

    /**
     * Frees every model's slots when the store closes: waits (bounded) for open leases, then for writes
     * in flight; a slot still leased is leaked rather than freed under its reader.
     */
    void freeAll() {
        long deadline = System.nanoTime() + config.leaseWaitTimeout().toNanos();
        for (Model model : models.values()) {
            synchronized (model) {
                model.active.set(null);
                model.staged.clear();
                for (Slot slot : model.slots) {
                    while (slot.pins.get() > 0 && System.nanoTime() < deadline) {
                        LockSupport.parkNanos(WAIT_PARK_NANOS);
                    }
                }
                try {
                    backend.awaitWrites();
                } catch (RuntimeException e) {
                    LOG.warn("writes of model {} failed while closing the store", model.id, e);
                }
                for (Slot slot : model.slots) {
                    if (slot.pins.get() > 0) {
                        // Freeing memory under a reader could crash the process; leak it instead.
                        LOG.error("model {}: a slot still has {} open leases after {}; its memory is not freed",
                                model.id, slot.pins.get(), config.leaseWaitTimeout());
                    } else {
                        freeMemory(model, slot.memory);
                    }
                }
                model.slots.clear();
            }
        }
    }
}
