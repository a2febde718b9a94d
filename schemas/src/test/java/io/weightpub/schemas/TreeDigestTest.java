package io.weightpub.schemas;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;

/** The tree digest against the JDK's SHA-256 applied as the README defines it. */
class TreeDigestTest {

    private static final int LEAF = DigestScheme.MIN_LEAF_SIZE;
    private static final ExecutorService POOL = Executors.newFixedThreadPool(4);

    @AfterAll
    static void stop() {
        POOL.shutdownNow();
    }

    /** SHA-256 over the SHA-256 of each leaf, straight from the definition. */
    private static byte[] reference(byte[] data, int leaf) throws Exception {
        MessageDigest root = MessageDigest.getInstance("SHA-256");
        for (int start = 0; start < data.length; start += leaf) {
            MessageDigest one = MessageDigest.getInstance("SHA-256");
            one.update(data, start, Math.min(leaf, data.length - start));
            root.update(one.digest());
        }
        return root.digest();
    }

    private static byte[] random(int size, long seed) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return data;
    }

    private static byte[] parallel(byte[] data, DigestScheme scheme, int parts) {
        return ParallelDigest.submit((offset, dst, at, length) -> System.arraycopy(data, (int) offset, dst, at, length),
                0, data.length, scheme, POOL, parts).join();
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, 55, 64, LEAF - 1, LEAF, LEAF + 1, 3 * LEAF + 12345, 5 * LEAF})
    void theStreamedAndTheParallelTreeEqualTheDefinitionIncludingALastPartialLeaf(int size) throws Exception {
        byte[] data = random(size, size);
        byte[] expected = reference(data, LEAF);
        DigestScheme scheme = DigestScheme.tree(LEAF);

        BucketHasher streamed = scheme.newHasher();
        Random pieces = new Random(7);
        for (int at = 0; at < size; ) {
            int n = Math.min(size - at, 1 + pieces.nextInt(3 * LEAF / 2));
            streamed.update(data, at, n);
            at += n;
        }
        assertThat(streamed.digest()).isEqualTo(expected);
        BucketHasher fromBuffer = scheme.newHasher();
        fromBuffer.update(ByteBuffer.wrap(data));
        assertThat(fromBuffer.digest()).isEqualTo(expected);
        assertThat(parallel(data, scheme, 1)).as("1 task").isEqualTo(expected);
        assertThat(parallel(data, scheme, 4)).as("4 tasks").isEqualTo(expected);
    }

    @Test
    void aKnownAnswerSharedWithThePythonClient() {
        byte[] data = new byte[200_000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i % 251);
        }
        BucketHasher hasher = DigestScheme.tree(64 << 10).newHasher();
        hasher.update(data, 0, data.length);
        assertThat(HexFormat.of().formatHex(hasher.digest()))
                .isEqualTo("bf2187045a84f25369fb8ca6a17623571e97266c1c640e6ed3c1a4e99189dad7");
    }

    @Test
    void anEmptyBucketHasNoLeavesSoItsTreeDigestIsTheSha256OfNothing() {
        assertThat(HexFormat.of().formatHex(DigestScheme.defaultTree().newHasher().digest()))
                .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assertThat(DigestScheme.defaultTree().leafCount(0)).isZero();
    }

    @Test
    void theFlatKindIsThePlainSha256OfTheBucket() throws Exception {
        byte[] data = random(3 * LEAF + 5, 3);
        byte[] expected = MessageDigest.getInstance("SHA-256").digest(data);
        BucketHasher hasher = DigestScheme.flat().newHasher();
        hasher.update(data, 0, data.length);
        assertThat(hasher.digest()).isEqualTo(expected);
        assertThat(parallel(data, DigestScheme.flat(), 4)).isEqualTo(expected);
        assertThat(reference(data, LEAF)).as("the tree differs from the flat digest").isNotEqualTo(expected);
    }

    @Test
    void aFlippedBitInAnyOneLeafChangesTheRoot() throws Exception {
        byte[] data = random(4 * LEAF + 99, 11);
        DigestScheme scheme = DigestScheme.tree(LEAF);
        byte[] clean = parallel(data, scheme, 3);
        for (int leaf = 0; leaf < 5; leaf++) {
            byte[] flipped = data.clone();
            flipped[leaf * LEAF + 17] ^= 0x10;
            assertThat(parallel(flipped, scheme, 3)).as("leaf " + leaf).isNotEqualTo(clean);
        }
    }
}
