package io.weightpub.bench;

import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.SyntheticCheckpoint;
import io.weightpub.publisher.TensorSource;
import io.weightpub.publisher.WeightPublisher;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A Llama-shaped model of a given size (the shapes of {@link SyntheticCheckpoint}) whose bytes are
 * produced on demand from an 8 MiB pseudo-random pool: nothing is written to disk and generating
 * bytes costs one copy, so a publish measures the publisher and Kafka, not a random generator.
 */
public final class SyntheticModel {

    static final int POOL_BYTES = 8 << 20;
    private static final byte[] POOL = pool();

    private SyntheticModel() {}

    private static byte[] pool() {
        byte[] pool = new byte[POOL_BYTES];
        new SplittableRandom(20240611).nextBytes(pool);
        return pool;
    }

    /** Tensors adding up to about {@code targetBytes}. */
    public static List<TensorSource> tensors(long targetBytes, long seed) {
        SyntheticCheckpoint shape = SyntheticCheckpoint.builder().targetBytes(targetBytes).seed(seed).build();
        List<TensorSource> tensors = new ArrayList<>();
        long start = seed * 7919;
        for (SyntheticCheckpoint.TensorSpec spec : shape.tensors()) {
            tensors.add(new PoolTensor(spec, start));
            start += spec.byteSize();
        }
        return tensors;
    }

    /** One flat BF16 tensor of exactly {@code bytes} bytes (even). */
    public static TensorSource flat(String name, long bytes, long start) {
        return new PoolTensor(new SyntheticCheckpoint.TensorSpec(name, io.weightpub.publisher.DType.BF16,
                new long[] {bytes / 2}), start);
    }

    /** Publishes one version of about {@code bytes} bytes as model {@code model}, step {@code step}. */
    public static PublishResult publish(String bootstrap, String prefix, String model, long step, long bytes) {
        try (WeightPublisher publisher = WeightPublisher.builder().bootstrapServers(bootstrap).topicPrefix(prefix)
                .build()) {
            return publisher.publish(model, step, tensors(bytes, step));
        }
    }

    private static final class PoolTensor extends TensorSource {

        private final long start;

        PoolTensor(SyntheticCheckpoint.TensorSpec spec, long start) {
            super(spec.name(), spec.dtype(), spec.shape());
            this.start = start;
        }

        @Override
        public void read(long offset, ByteBuffer dst) {
            long at = start + offset;
            while (dst.hasRemaining()) {
                int from = (int) Math.floorMod(at, (long) POOL_BYTES);
                int n = Math.min(dst.remaining(), POOL_BYTES - from);
                dst.put(POOL, from, n);
                at += n;
            }
        }
    }
}
