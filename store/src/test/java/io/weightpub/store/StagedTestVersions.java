package io.weightpub.store;

import io.weightpub.testutils.TestVersion;

/** Stages a {@link TestVersion} into a store the way the sink writer would: chunk by chunk at its offset. */
public final class StagedTestVersions {

    private StagedTestVersions() {}

    /** Stages every chunk of {@code version} into {@code store}. */
    public static void stageInto(WeightStore store, TestVersion version, int chunkBytes)
            throws SlotsExhaustedException {
        store.stage(version.modelId(), version.publishId(), version.step(), version.size());
        for (int i = 0; i < version.chunkCount(chunkBytes); i++) {
            byte[] payload = version.chunk(i, chunkBytes).payload();
            store.write(version.modelId(), version.publishId(), (long) i * chunkBytes, payload, 0, payload.length);
        }
    }
}
