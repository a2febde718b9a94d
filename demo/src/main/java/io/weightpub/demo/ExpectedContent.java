package io.weightpub.demo;

import io.weightpub.publisher.BucketPlan;
import io.weightpub.publisher.BucketPlanner;
import io.weightpub.publisher.TensorSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * The SHA-256 a worker must report for a whole version: the checkpoint's tensors laid out in
 * buckets exactly as the publisher lays them out, padding included. Computed from the files, so the
 * demo checks the workers against the source, not against anything that passed through Kafka.
 */
final class ExpectedContent {

    private static final int PIECE = 1 << 20;

    private ExpectedContent() {}

    static byte[] sha256(List<TensorSource> tensors, long bucketSizeBytes) throws IOException {
        MessageDigest digest = newSha256();
        BucketPlan plan = BucketPlanner.plan(tensors, bucketSizeBytes);
        ByteBuffer piece = ByteBuffer.allocate(PIECE);
        byte[] zeros = new byte[PIECE];
        for (BucketPlan.Bucket bucket : plan.buckets()) {
            long position = 0;
            for (BucketPlan.Slot slot : bucket.slots()) {
                zeroFill(digest, zeros, slot.start() - position);
                for (long read = 0; read < slot.end() - slot.start(); ) {
                    piece.clear();
                    piece.limit((int) Math.min(PIECE, slot.end() - slot.start() - read));
                    slot.tensor().read(read, piece);
                    piece.flip();
                    read += piece.remaining();
                    digest.update(piece);
                }
                position = slot.end();
            }
            zeroFill(digest, zeros, bucket.sizeBytes() - position);
        }
        return digest.digest();
    }

    private static void zeroFill(MessageDigest digest, byte[] zeros, long count) {
        for (long left = count; left > 0; left -= zeros.length) {
            digest.update(zeros, 0, (int) Math.min(left, zeros.length));
        }
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
