package io.weightpub.store;

import io.weightpub.schemas.VersionManifest;
import io.weightpub.store.internal.WeightStores;
import org.apache.flink.annotation.PublicEvolving;

import java.util.Optional;
import java.util.Set;

/**
 * One inference worker's weights: per model an active slot that readers lease, and shadow slots
 * that publishes stage into. Chunks are written at their offset straight into the shadow slot;
 * writes are idempotent (a re-sent chunk writes the same bytes again). A publish becomes active
 * only after {@link #verify} found every bucket digest right on the bytes in the slot, and the
 * flip in {@link #commit} is one atomic step: a reader sees the whole old or the whole new version.
 *
 * <p>Staging, verifying, committing and aborting come from one thread at a time (the sink
 * writer); leases may be acquired and read from any number of threads.
 */
@PublicEvolving
public interface WeightStore extends AutoCloseable {

    /**
     * Opens a store of the configured backend ({@link StoreBackend#AUTO}: CUDA where a device is
     * visible, else host memory).
     *
     * @param worker the worker's index; picks the GPU ({@code worker} modulo the visible devices) when
     *     {@link WeightStoreConfig#cudaDevice()} is not set
     * @throws IllegalStateException naming the reason when the CUDA backend is asked for and no
     *     usable device or driver is present
     */
    static WeightStore open(WeightStoreConfig config, int worker) {
        return WeightStores.open(config, worker);
    }

    /** The backend this store runs on (never {@link StoreBackend#AUTO}). */
    StoreBackend backend();

    /** Human-readable description, e.g. the device name. */
    String describe();

    /**
     * Claims a shadow slot of at least {@code versionBytes} for a publish. Repeating it for a staged
     * publish is a no-op. Waits (bounded) for leases of a retired slot to be released.
     *
     * <p>Slot memory stays within {@link WeightStoreConfig#maxBytesPerModel()} and
     * {@link WeightStoreConfig#maxBytesPerWorker()}, counting every slot: active, staged and resident.
     * Retired versions (of this model first, then of others for the worker's budget) are evicted to
     * make room. A publish that cannot fit is refused before anything is allocated or evicted; an
     * allocation that fails leaves every staged, active and resident version as it was. Either way
     * the publish is not staged, and the next publish that fits stages as usual.
     *
     * @throws SlotsExhaustedException when every non-active slot holds another staged publish (a
     *     holder may be committed or aborted to free one)
     * @throws MemoryBudgetExceededException (a {@link SlotAllocationException}) when the publish would
     *     exceed a memory budget, or is larger than half of one (it needs an active and a shadow slot)
     * @throws SlotAllocationException when the slot's memory could not be allocated (off-heap memory or
     *     {@code cuMemAlloc} failed)
     */
    void stage(String modelId, String publishId, long step, long versionBytes)
            throws SlotsExhaustedException, SlotAllocationException;

    /**
     * Stages committed publish {@code publishId} again from the retired slot that still holds its
     * verified bytes, untouched since (no copy, no re-verification), so that {@link #commit} makes
     * it active under a new version number: a rollback by a flip alone. Retired versions stay
     * resident until their slot is reused ({@link WeightStoreConfig#residentVersions()} keeps extra
     * slots for them). Empty when no slot holds it any more; then its bytes must be staged anew.
     */
    Optional<StagedPublish> stageResident(String modelId, String publishId);

    /**
     * Writes {@code length} bytes of {@code bytes} from {@code from} at {@code versionOffset} of the shadow slot.
     *
     * @throws IllegalStateException when the publish is not staged (or the store is closed)
     * @throws IndexOutOfBoundsException when the range lies outside the version or the source array
     */
    void write(String modelId, String publishId, long versionOffset, byte[] bytes, int from, int length);

    /**
     * Returns once every write issued so far has landed in slot memory (on a device: was copied there).
     * {@link #verify} and {@link #abort} wait by themselves; this is for callers that time staging.
     */
    void awaitWrites();

    /**
     * Starts hashing bytes [{@code versionOffset}, {@code versionOffset + length}) of a staged
     * publish in the background, once every write issued so far has landed, so that {@link #verify}
     * finds that bucket's digest ready instead of hashing it then. A later write into the range
     * discards the early digest; verify always checks the bytes as they are at verify time.
     */
    void prehash(String modelId, String publishId, long versionOffset, long length);

    /**
     * Waits for every write of the publish to land, then checks the manifest against the staged
     * publish, every bucket's SHA-256 against the bytes in the slot, and every tensor's metadata
     * against its bytes (known dtype, numel the product of the shape, a byte range of numel items
     * inside its bucket and the version, aligned to its item size, overlapping no other tensor), so
     * that a {@link TensorRef} never describes bytes outside the slot. A publish that verifies may be
     * committed; one that does not stays staged until aborted.
     */
    VerifyResult verify(String modelId, String publishId, VersionManifest manifest);

    /**
     * Makes a verified publish the active version {@code version} in one atomic step. Idempotent. A
     * publish whose bytes are already the active ones is relabelled as {@code version}.
     *
     * @param contentVersion the version whose bytes these are (differs from {@code version} after a rollback)
     * @return {@link CommitOutcome#FLIPPED} when it is active now; otherwise why not (see {@link CommitOutcome})
     */
    CommitOutcome commit(String modelId, String publishId, long version, long contentVersion);

    /** Drops a staged publish and frees its slot; false if it was not staged. */
    boolean abort(String modelId, String publishId);

    /** A lease on the model's active version, or empty if none is active. */
    Optional<ActiveVersion> acquire(String modelId);

    Set<String> models();

    /**
     * The {@link SharedSlot#allocation()} ids of the model's slots whose memory is allocated now and
     * may be shared with other processes (empty for private memory, an unknown model, and after
     * {@link #close}). An id missing here was freed (evicted, replaced by a bigger slot, or freed at
     * close) and never comes back. A slot under an open lease is never freed, so the id of a leased
     * version's slot stays here until the lease is closed. Safe from any thread; never waits for
     * staging or verification.
     */
    Set<String> sharedAllocations(String modelId);

    ModelStatus status(String modelId);

    /** Remembers the latest error about a model, shown by {@link #status} (e.g. by the reference worker). */
    void recordError(String modelId, String message);

    MemoryStats memory();

    /** Frees all memory; waits (bounded) for open leases first. */
    @Override
    void close();
}
