package io.weightpub.schemas;

import org.apache.flink.annotation.PublicEvolving;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * A bucket's digest computed by several tasks of an executor: a {@code SHA256_TREE} bucket's leaves
 * are split into contiguous runs, one task each, and the root is hashed from their leaf digests by
 * whichever task ends last; a {@code SHA256} bucket is one sequential task. No task waits for
 * another, so the tasks may share one pool with other buckets' without deadlock.
 */
@PublicEvolving
public final class ParallelDigest {

    /** Copies bytes of the memory being hashed; called from the executor's threads. */
    @FunctionalInterface
    public interface ByteSource {
        void read(long offset, byte[] dst, int dstOffset, int length);
    }

    /** Bytes read at a time: large enough to amortise calls, small enough to stay in cache. */
    static final int PIECE = 1 << 20;
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[PIECE]);

    private ParallelDigest() {}

    /**
     * The digest of {@code [offset, offset + length)} of {@code source} under {@code scheme}, computed
     * by at most {@code parts} tasks of {@code pool}.
     */
    public static CompletableFuture<byte[]> submit(ByteSource source, long offset, long length, DigestScheme scheme,
            Executor pool, int parts) {
        if (!scheme.isTree()) {
            return CompletableFuture.supplyAsync(() -> flat(source, offset, length), pool);
        }
        long leaves = scheme.leafCount(length);
        int tasks = (int) Math.max(1, Math.min(parts, leaves));
        List<CompletableFuture<byte[]>> runs = new ArrayList<>(tasks);
        long leafSize = scheme.leafSize();
        for (int t = 0; t < tasks; t++) {
            long first = leaves * t / tasks;
            long end = leaves * (t + 1) / tasks;
            runs.add(CompletableFuture.supplyAsync(() -> leafDigests(source, offset, length, leafSize, first, end), pool));
        }
        return CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new)).thenApply(done -> {
            MessageDigest root = Sha256.newDigest();
            for (CompletableFuture<byte[]> run : runs) {
                root.update(run.join());
            }
            return root.digest();
        });
    }

    /** The 32-byte digests of leaves {@code [first, end)} of the bucket at {@code offset}, laid end to end. */
    public static byte[] leafDigests(ByteSource source, long offset, long length, long leafSize, long first, long end) {
        byte[] out = new byte[Math.toIntExact(32 * (end - first))];
        MessageDigest leaf = Sha256.newDigest();
        byte[] scratch = SCRATCH.get();
        for (long i = first; i < end; i++) {
            long start = i * leafSize;
            long leafEnd = Math.min(length, start + leafSize);
            for (long at = start; at < leafEnd; ) {
                int piece = (int) Math.min(scratch.length, leafEnd - at);
                source.read(offset + at, scratch, 0, piece);
                leaf.update(scratch, 0, piece);
                at += piece;
            }
            try {
                leaf.digest(out, (int) (32 * (i - first)), 32);
            } catch (java.security.DigestException e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    private static byte[] flat(ByteSource source, long offset, long length) {
        MessageDigest sha = Sha256.newDigest();
        byte[] scratch = SCRATCH.get();
        for (long at = 0; at < length; ) {
            int piece = (int) Math.min(scratch.length, length - at);
            source.read(offset + at, scratch, 0, piece);
            sha.update(scratch, 0, piece);
            at += piece;
        }
        return sha.digest();
    }
}
