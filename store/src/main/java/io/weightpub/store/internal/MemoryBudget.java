package io.weightpub.store.internal;

import io.weightpub.store.MemoryBudgetExceededException.Budget;
import io.weightpub.store.MemoryBudgetExceededException;
import io.weightpub.store.WeightStoreConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;


/** A store's slot memory budgets per model and per worker, resolved against the worker's memory. */
final class MemoryBudget {

    private static final Logger LOG = LoggerFactory.getLogger(MemoryBudget.class);

    private final long perModel;
    private final long perWorker;

    private MemoryBudget(long perModel, long perWorker) {
        this.perModel = perModel;
        this.perWorker = perWorker;
    }

    /** The configured budgets; one left at {@link WeightStoreConfig#DERIVED_BUDGET} is derived from {@code memoryBytes}. */
    static MemoryBudget resolve(WeightStoreConfig config, long memoryBytes, String memory) {
        long perWorker = config.maxBytesPerWorker() != WeightStoreConfig.DERIVED_BUDGET
                ? config.maxBytesPerWorker()
                : (long) (memoryBytes * config.memoryFraction());
        long perModel = config.maxBytesPerModel() != WeightStoreConfig.DERIVED_BUDGET
                ? config.maxBytesPerModel()
                : perWorker;
        LOG.info("slot memory budget: {} bytes per model, {} bytes per worker ({} has {} bytes)", perModel,
                perWorker, memory, memoryBytes);
        return new MemoryBudget(perModel, perWorker);
    }

    long perModel() {
        return perModel;
    }

    long perWorker() {
        return perWorker;
    }

    /** Whether slots holding {@code modelBytes} of a model and {@code workerBytes} in all fit. */
    boolean fits(long modelBytes, long workerBytes) {
        return modelBytes <= perModel && workerBytes <= perWorker;
    }

    /** A version needs an active and a shadow slot: refuses one larger than half a budget, whatever is resident. */
    void checkVersion(String modelId, String publishId, long versionBytes) {
        if (versionBytes > perModel / 2) {
            throw new MemoryBudgetExceededException(modelId, publishId, versionBytes, Budget.MODEL, perModel,
                    2 * versionBytes, "model " + modelId + ": publish " + publishId + " of " + versionBytes
                    + " bytes needs an active and a shadow slot, more than the model's memory budget of " + perModel
                    + " bytes (weightpub.sink.memory.max-per-model)");
        }
        if (versionBytes > perWorker / 2) {
            throw new MemoryBudgetExceededException(modelId, publishId, versionBytes, Budget.WORKER, perWorker,
                    2 * versionBytes, "model " + modelId + ": publish " + publishId + " of " + versionBytes
                    + " bytes needs an active and a shadow slot, more than the worker's memory budget of "
                    + perWorker + " bytes (weightpub.sink.memory.max-per-worker)");
        }
    }

    /** The refusal of a publish whose slot would take {@code budget}'s slots to {@code neededBytes}. */
    MemoryBudgetExceededException exceeded(Budget budget, String modelId, String publishId, long versionBytes,
            long neededBytes, String holders) {
        long limit = budget == Budget.MODEL ? perModel : perWorker;
        return new MemoryBudgetExceededException(modelId, publishId, versionBytes, budget, limit, neededBytes,
                "model " + modelId + ": publish " + publishId + " needs a slot of " + versionBytes + " bytes, which "
                        + "would take the " + (budget == Budget.MODEL ? "model's" : "worker's") + " slots to "
                        + neededBytes + " bytes, over its memory budget of " + limit + " bytes ("
                        + (budget == Budget.MODEL ? "weightpub.sink.memory.max-per-model"
                                : "weightpub.sink.memory.max-per-worker")
                        + ") even after evicting every retired version it may; " + holders);
    }
}
