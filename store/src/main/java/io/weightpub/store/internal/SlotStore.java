package io.weightpub.store.internal;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.DigestScheme;
import io.weightpub.store.ActiveVersion;
import io.weightpub.store.CommitOutcome;
import io.weightpub.store.MemoryStats;
import io.weightpub.store.ModelStatus;
import io.weightpub.store.SlotsExhaustedException;
import io.weightpub.store.StagedPublish;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.VerifyResult;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.store.internal.Model.Active;
import io.weightpub.store.internal.Model.Resident;
import io.weightpub.store.spi.MemoryAllocator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The weight store of every backend: per model a few slots, one of them active; the backend's
 * {@link MemoryAllocator} provides the slots' memory. The active version is one
 * {@link AtomicReference}; a flip is a single {@code set}. Readers pin the active slot lock-free (a
 * pin count per slot); the writer claims a free slot by moving its count from 0 to -1, so a slot is
 * never reused while a reader holds it.
 *
 * <p>Slot memory is kept within a budget per model and per worker ({@link MemoryBudget}): a publish
 * that does not fit is refused before anything is allocated, retired versions are evicted to make
 * room, and a failed allocation leaves the store as it was.
 */
final class SlotStore implements WeightStore {

    private final WeightStoreConfig config;
    private final MemoryAllocator memory;
    private final Map<String, Model> models = new ConcurrentHashMap<>();
    private final ExecutorService hashPool;
    private final SlotAllocator allocator;
    /**
     * Held, before any model's lock, by everything that allocates, evicts or re-stages slots: eviction
     * takes other models' locks too, and no two threads then nest model locks.
     */
    private final Object allocationLock = new Object();
    private volatile boolean closed;

    /**
     * A store with slots in {@code memory}'s memory; it closes {@code memory} when it closes.
     *
     * @param config slots, budgets and verification threads
     * @param memory the backend; unset budgets are derived from its {@link MemoryAllocator#memoryBytes()}
     */
    SlotStore(WeightStoreConfig config, MemoryAllocator memory) {
        this.config = config;
        this.memory = memory;
        this.allocator = new SlotAllocator(memory, config,
                MemoryBudget.resolve(config, memory.memoryBytes(), memory.memoryName()), models);
        AtomicInteger threads = new AtomicInteger();
        this.hashPool = Executors.newFixedThreadPool(config.verifyThreads(), r -> {
            Thread t = new Thread(r, memory.threadName() + "-verify-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public StoreBackend backend() {
        return memory.backend();
    }

    @Override
    public String describe() {
        return memory.describe() + ", " + config.slotsPerModel() + " slots per model";
    }

    @Override
    public void awaitWrites() {
        memory.awaitWrites();
    }

    @Override
    public void stage(String modelId, String publishId, long step, long versionBytes)
            throws SlotsExhaustedException {
        checkOpen();
        if (versionBytes < 0) {
            throw new IllegalArgumentException(
                    "publish " + publishId + " of model " + modelId + ": version size " + versionBytes + " is negative");
        }
        synchronized (allocationLock) {
            Model model = models.computeIfAbsent(modelId, Model::new);
            try {
                synchronized (model) {
                    Staged existing = model.staged.get(publishId);
                    if (existing != null) {
                        if (existing.versionBytes != versionBytes) {
                            throw new IllegalArgumentException("publish " + publishId + " of model " + modelId
                                    + " is staged with " + existing.versionBytes + " bytes, now announced with "
                                    + versionBytes);
                        }
                        return;
                    }
                    allocator.budget().checkVersion(modelId, publishId, versionBytes);
                    Slot slot = allocator.claimSlot(model, publishId, versionBytes);
                    model.staged.put(publishId, new Staged(publishId, step, versionBytes, slot, false));
                }
            } finally {
                forgetIfEmpty(model);
            }
        }
    }

    /** A model whose first publish could not stage leaves no trace. */
    private void forgetIfEmpty(Model model) {
        synchronized (model) {
            if (model.slots.isEmpty() && model.staged.isEmpty() && model.active.get() == null
                    && model.lastError == null) {
                models.remove(model.id, model);
            }
        }
    }

    @Override
    public Optional<StagedPublish> stageResident(String modelId, String publishId) {
        checkOpen();
        Model model = models.get(modelId);
        if (model == null) {
            return Optional.empty();
        }
        // Under the allocation lock: eviction claims free slots without holding this model's lock throughout.
        synchronized (allocationLock) {
            return stageResident(model, publishId);
        }
    }

    private Optional<StagedPublish> stageResident(Model model, String publishId) {
        String modelId = model.id;
        synchronized (model) {
            Staged existing = model.staged.get(publishId);
            if (existing != null) {
                return existing.verifiedTensors == null ? Optional.empty() : Optional.of(existing.describe(modelId));
            }
            Active active = model.active.get();
            Set<Slot> held = new HashSet<>();
            model.staged.values().forEach(s -> held.add(s.slot));
            for (Slot slot : model.slots) {
                Resident resident = slot.resident;
                if (resident != null && resident.publishId().equals(publishId)
                        && (active == null || slot != active.slot) && !held.contains(slot)) {
                    // Held through the staged map, not claimed: readers of the retired version may keep their pins.
                    Staged staged = new Staged(publishId, resident.step(), resident.versionBytes(), slot, true);
                    staged.bytesWritten.set(resident.versionBytes());
                    staged.verifiedTensors = resident.tensors();
                    model.staged.put(publishId, staged);
                    return Optional.of(staged.describe(modelId));
                }
            }
            return Optional.empty();
        }
    }

    @Override
    public void write(String modelId, String publishId, long versionOffset, byte[] bytes, int from, int length) {
        Staged staged = staged(modelId, publishId, "write");
        if (versionOffset < 0 || length < 0 || length > staged.versionBytes - versionOffset || from < 0
                || length > bytes.length - from) {
            throw new IndexOutOfBoundsException("publish " + publishId + " of model " + modelId + ": write of bytes ["
                    + versionOffset + ", " + (versionOffset + length) + ") outside the version's "
                    + staged.versionBytes + " bytes (source [" + from + ", " + (from + length) + ") of "
                    + bytes.length + ")");
        }
        staged.invalidatePrehashes(versionOffset, length);
        if (staged.slot.resident != null) {
            // The slot's bytes change: they are no longer the verified content they were.
            staged.slot.resident = null;
            staged.verifiedTensors = null;
        }
        staged.slot.memory.write(versionOffset, bytes, from, length);
        staged.bytesWritten.addAndGet(length);
    }

    @Override
    public void prehash(String modelId, String publishId, long versionOffset, long length) {
        Staged staged = staged(modelId, publishId, "prehash");
        if (versionOffset < 0 || length < 0 || length > staged.versionBytes - versionOffset) {
            throw new IndexOutOfBoundsException("publish " + publishId + " of model " + modelId + ": bytes ["
                    + versionOffset + ", " + (versionOffset + length) + ") outside the version's "
                    + staged.versionBytes + " bytes");
        }
        awaitWrites();
        // The manifest, which names the digest, comes last: hash with the scheme publishers write by
        // default; verify uses the early digest only if the manifest declares that scheme.
        DigestScheme scheme = DigestScheme.defaultTree();
        staged.prehashes.add(new Staged.Prehash(versionOffset, length, scheme,
                staged.slot.memory.digest(versionOffset, length, scheme, hashPool, config.verifyThreads())));
    }

    @Override
    public VerifyResult verify(String modelId, String publishId, VersionManifest manifest) {
        long start = System.nanoTime();
        Model model = model(modelId);
        synchronized (model) {
            Staged staged = staged(modelId, publishId, "verify");
            awaitWrites();
            List<BucketInfo> buckets = new ArrayList<>(manifest.getBuckets());
            buckets.sort(Comparator.comparingLong(BucketInfo::getOffset));
            List<String> problems = StagedVerification.manifestProblems(modelId, publishId, staged.versionBytes, manifest, buckets);
            DigestScheme scheme = StagedVerification.digestScheme(manifest, problems);
            TensorTable tensors = TensorTable.of(manifest, problems);
            List<VerifyResult.BucketMismatch> mismatches = new ArrayList<>();
            long verified = 0;
            if (problems.isEmpty()) {
                List<Future<byte[]>> digests = new ArrayList<>();
                for (BucketInfo bucket : buckets) {
                    Future<byte[]> early = staged.validPrehash(bucket.getOffset(), bucket.getSizeBytes(), scheme);
                    digests.add(early != null ? early : staged.slot.memory.digest(bucket.getOffset(),
                            bucket.getSizeBytes(), scheme, hashPool, config.verifyThreads()));
                }
                for (int i = 0; i < buckets.size(); i++) {
                    BucketInfo bucket = buckets.get(i);
                    byte[] expected = StagedVerification.bytes(bucket.getSha256());
                    byte[] actual = StagedVerification.await(digests.get(i), modelId, publishId, bucket.getIndex());
                    if (!Arrays.equals(expected, actual)) {
                        mismatches.add(new VerifyResult.BucketMismatch(bucket.getIndex(), bucket.getOffset(),
                                bucket.getSizeBytes(), expected, actual, scheme.toString()));
                    }
                    verified += bucket.getSizeBytes();
                }
            }
            staged.awaitPrehashes();
            VerifyResult result = new VerifyResult(modelId, publishId, mismatches, problems, verified,
                    System.nanoTime() - start);
            if (result.ok()) {
                staged.verifiedTensors = tensors;
            } else {
                model.lastError = result.describe();
            }
            return result;
        }
    }

    @Override
    public CommitOutcome commit(String modelId, String publishId, long version, long contentVersion) {
        checkOpen();
        Model model = models.get(modelId);
        if (model == null) {
            return CommitOutcome.NOT_STAGED;
        }
        synchronized (model) {
            Active current = model.active.get();
            if (current != null && current.info.version() >= version) {
                if (current.info.version() == version && current.info.publishId().equals(publishId)) {
                    return CommitOutcome.ALREADY_ACTIVE;
                }
                Staged stale = model.staged.remove(publishId);
                if (stale != null && !stale.fromResident) {
                    stale.slot.release();
                }
                return CommitOutcome.STALE;
            }
            Staged staged = model.staged.get(publishId);
            if (staged == null) {
                Resident resident = current == null ? null : current.slot.resident;
                if (resident != null && resident.publishId().equals(publishId)) {
                    // Its bytes are the active ones already (a rollback to the current content): relabel only.
                    model.active.set(new Active(current.slot, new VersionInfo(modelId, publishId, version,
                            contentVersion, resident.step(), resident.versionBytes(), System.currentTimeMillis()),
                            current.tensors));
                    return CommitOutcome.FLIPPED;
                }
                return CommitOutcome.NOT_STAGED;
            }
            if (staged.verifiedTensors == null) {
                return CommitOutcome.NOT_VERIFIED;
            }
            model.staged.remove(publishId);
            VersionInfo info = new VersionInfo(modelId, publishId, version, contentVersion, staged.step,
                    staged.versionBytes, System.currentTimeMillis());
            Active next = new Active(staged.slot, info, staged.verifiedTensors);
            staged.slot.resident = new Resident(publishId, staged.step, staged.versionBytes, staged.verifiedTensors);
            if (!staged.fromResident) {
                // Readable before it is published: nobody can pin it until the set below makes it visible.
                staged.slot.release();
            }
            model.active.set(next);
            if (current != null) {
                current.slot.retiredSeq = ++model.retirements;
            }
            return CommitOutcome.FLIPPED;
        }
    }

    @Override
    public boolean abort(String modelId, String publishId) {
        Model model = models.get(modelId);
        if (model == null) {
            return false;
        }
        synchronized (model) {
            Staged staged = model.staged.remove(publishId);
            if (staged == null) {
                return false;
            }
            staged.awaitPrehashes();
            if (!staged.fromResident) {
                // Writes still in flight must not land after the slot's next publish writes the same offsets.
                awaitWrites();
                staged.slot.release();
            }
            return true;
        }
    }

    @Override
    public Optional<ActiveVersion> acquire(String modelId) {
        Model model = models.get(modelId);
        if (model == null || closed) {
            return Optional.empty();
        }
        while (true) {
            Active active = model.active.get();
            if (active == null) {
                return Optional.empty();
            }
            if (active.slot.tryPin()) {
                if (model.active.get() == active) {
                    return Optional.of(new SlotLease(active, backend()));
                }
                active.slot.unpin();
            }
            Thread.onSpinWait();
        }
    }

    @Override
    public Set<String> models() {
        return Set.copyOf(models.keySet());
    }

    @Override
    public Set<String> sharedAllocations(String modelId) {
        Model model = models.get(modelId);
        if (model == null || closed) {
            return Set.of();
        }
        Set<String> ids = new HashSet<>();
        // A slot leaves the list when freed; memory freed just before that already reports no allocation.
        for (Slot slot : model.slots) {
            slot.memory.sharedAllocation().ifPresent(ids::add);
        }
        return Set.copyOf(ids);
    }

    @Override
    public ModelStatus status(String modelId) {
        Model model = models.get(modelId);
        if (model == null) {
            return new ModelStatus(modelId, Optional.empty(), List.of(), Optional.empty());
        }
        List<StagedPublish> staged;
        synchronized (model) {
            staged = model.staged.values().stream().map(s -> s.describe(modelId)).toList();
        }
        Active active = model.active.get();
        return new ModelStatus(modelId, Optional.ofNullable(active).map(a -> a.info), staged,
                Optional.ofNullable(model.lastError));
    }

    @Override
    public void recordError(String modelId, String message) {
        models.computeIfAbsent(modelId, Model::new).lastError = message;
    }

    @Override
    public MemoryStats memory() {
        int slots = 0;
        long bytes = 0;
        for (Model model : models.values()) {
            synchronized (model) {
                for (Slot slot : model.slots) {
                    slots++;
                    bytes += slot.memory.capacity();
                }
            }
        }
        return new MemoryStats(slots, bytes, memory.pinnedBytes(), memory.pinnedAllocations(), allocator.budget().perModel(),
                allocator.budget().perWorker());
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        synchronized (allocationLock) {
            allocator.freeAll();
        }
        hashPool.shutdownNow();
        memory.close();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the weight store is closed");
        }
    }

    private Model model(String modelId) {
        Model model = models.get(modelId);
        if (model == null) {
            throw new IllegalStateException("model " + modelId + " has nothing staged in this store");
        }
        return model;
    }

    private Staged staged(String modelId, String publishId, String what) {
        checkOpen();
        Model model = model(modelId);
        Staged staged;
        synchronized (model) {
            staged = model.staged.get(publishId);
        }
        if (staged == null) {
            throw new IllegalStateException(
                    what + ": publish " + publishId + " of model " + modelId + " is not staged in this store");
        }
        return staged;
    }
}
