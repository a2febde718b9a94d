package io.weightpub.sink;

import io.weightpub.events.WeightEvent;
import io.weightpub.testutils.TestVersion;
import org.apache.flink.connector.datagen.source.GeneratorFunction;

/**
 * The job's output for versions 1..n of one model, as a generator: event {@code i} is a chunk or
 * the commit of version {@code i / (chunks + 1) + 1}. Version {@code corruptVersion}'s manifest
 * has a wrong digest for bucket 1.
 */
final class VersionEvents implements GeneratorFunction<Long, WeightEvent> {

    private static final long serialVersionUID = 1L;

    private final String modelId;
    private final int buckets;
    private final int bucketBytes;
    private final int chunkBytes;
    private final long corruptVersion;
    private transient TestVersion current;

    VersionEvents(String modelId, int buckets, int bucketBytes, int chunkBytes, long corruptVersion) {
        this.modelId = modelId;
        this.buckets = buckets;
        this.bucketBytes = bucketBytes;
        this.chunkBytes = chunkBytes;
        this.corruptVersion = corruptVersion;
    }

    int eventsPerVersion() {
        return version(1).chunkCount(chunkBytes) + 1;
    }

    TestVersion version(long v) {
        return v == corruptVersion
                ? TestVersion.withWrongDigest(modelId, v, buckets, bucketBytes, 1)
                : TestVersion.of(modelId, v, buckets, bucketBytes);
    }

    @Override
    public WeightEvent map(Long index) {
        int perVersion = eventsPerVersion();
        long v = index / perVersion + 1;
        int k = (int) (index % perVersion);
        if (current == null || current.version() != v) {
            current = version(v);
        }
        // Chunks of a publish in reverse order: the sink must not depend on their order.
        return k < perVersion - 1 ? current.chunk(perVersion - 2 - k, chunkBytes) : current.commit();
    }
}
