package io.weightpub.store;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.DigestKind;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.BucketHasher;
import io.weightpub.schemas.DigestScheme;
import io.weightpub.testutils.TestVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static io.weightpub.store.StagedTestVersions.stageInto;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Verification of {@code SHA256_TREE} manifests, which every backend must do exactly as the
 * definition says (a host store with CPU threads, a CUDA store on the device), next to the plain
 * {@code SHA256} manifests of earlier publishers. Buckets of 300,000 bytes with 64 KiB leaves: five
 * leaves, the last one partial.
 */
public abstract class TreeDigestVerificationContract {

    protected static final String MODEL = "tree";
    private static final int BUCKETS = 3;
    private static final int BUCKET_BYTES = 300_000;
    private static final int CHUNK_BYTES = 40_000;
    private static final int LEAF = DigestScheme.MIN_LEAF_SIZE;

    private final List<WeightStore> opened = new ArrayList<>();

    protected abstract WeightStore open(WeightStoreConfig.Builder config);

    private WeightStore store(int verifyThreads) {
        WeightStore store = open(WeightStoreConfig.builder().verifyThreads(verifyThreads));
        opened.add(store);
        return store;
    }

    @AfterEach
    void closeStores() {
        opened.forEach(WeightStore::close);
    }

    /** The version's manifest with tree digests of {@code leaf}-byte leaves computed from its bytes. */
    static VersionManifest treeManifest(TestVersion version, int leaf) {
        DigestScheme scheme = DigestScheme.tree(leaf);
        byte[] bytes = version.bytes();
        List<BucketInfo> buckets = new ArrayList<>();
        for (BucketInfo bucket : version.manifest().getBuckets()) {
            BucketHasher hasher = scheme.newHasher();
            hasher.update(bytes, (int) bucket.getOffset(), (int) bucket.getSizeBytes());
            buckets.add(BucketInfo.newBuilder(bucket).setSha256(ByteBuffer.wrap(hasher.digest())).build());
        }
        return scheme.declareOn(VersionManifest.newBuilder(version.manifest())).setBuckets(buckets).build();
    }

    @ParameterizedTest(name = "{0} verify threads")
    @ValueSource(ints = {1, 4})
    void aTreeManifestVerifiesAndFlipsWithOneOrSeveralVerifyThreads(int threads) throws Exception {
        WeightStore store = store(threads);
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        stageInto(store, v1, CHUNK_BYTES);

        VerifyResult result = store.verify(MODEL, v1.publishId(), treeManifest(v1, LEAF));

        assertThat(result.ok()).as(result.describe()).isTrue();
        assertThat(result.bytesVerified()).isEqualTo(v1.size());
        assertThat(store.commit(MODEL, v1.publishId(), 1, 1)).isEqualTo(CommitOutcome.FLIPPED);
    }

    @Test
    void aPlainSha256ManifestOfAnEarlierPublisherStillVerifies() throws Exception {
        WeightStore store = store(2);
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        stageInto(store, v1, CHUNK_BYTES);
        assertThat(v1.manifest().getDigestKind()).isNull();

        VerifyResult result = store.verify(MODEL, v1.publishId(), v1.manifest());

        assertThat(result.ok()).as(result.describe()).isTrue();
    }

    @Test
    void aFlippedBitInAnyOneLeafFailsThatBucketAlone() throws Exception {
        WeightStore store = store(3);
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        VersionManifest manifest = treeManifest(v1, LEAF);
        stageInto(store, v1, CHUNK_BYTES);
        byte[] bytes = v1.bytes();
        for (int leaf = 0; leaf < 5; leaf++) {
            long at = BUCKET_BYTES + (long) leaf * LEAF + 1234;
            store.write(MODEL, v1.publishId(), at, new byte[] {(byte) (bytes[(int) at] ^ 0x08)}, 0, 1);

            VerifyResult result = store.verify(MODEL, v1.publishId(), manifest);

            assertThat(result.failedBuckets()).as("leaf " + leaf).containsExactly(1);
            assertThat(result.describe()).contains("bucket 1", "SHA256_TREE(leaf 65536)");
            store.write(MODEL, v1.publishId(), at, bytes, (int) at, 1);
        }
        assertThat(store.verify(MODEL, v1.publishId(), manifest).ok()).as("restored").isTrue();
    }

    @Test
    void earlyTreeDigestsOfBucketsStagedBeforeTheManifestAreUsedOnlyWhenItDeclaresTheSameTree() throws Exception {
        WeightStore store = store(2);
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        stageInto(store, v1, CHUNK_BYTES);
        for (int b = 0; b < BUCKETS; b++) {
            store.prehash(MODEL, v1.publishId(), (long) b * BUCKET_BYTES, BUCKET_BYTES);
        }
        VerifyResult ofDefault = store.verify(MODEL, v1.publishId(), treeManifest(v1, DigestScheme.DEFAULT_LEAF_SIZE));
        assertThat(ofDefault.ok()).as(ofDefault.describe()).isTrue();
        VerifyResult ofOtherLeaves = store.verify(MODEL, v1.publishId(), treeManifest(v1, LEAF));
        assertThat(ofOtherLeaves.ok()).as(ofOtherLeaves.describe()).isTrue();
        VerifyResult ofFlat = store.verify(MODEL, v1.publishId(), v1.manifest());
        assertThat(ofFlat.ok()).as(ofFlat.describe()).isTrue();
    }

    @Test
    void aLeafSizeThatIsNoPowerOfTwoIsAProblemNamedInTheResultAndNothingIsHashedWithIt() throws Exception {
        WeightStore store = store(2);
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        stageInto(store, v1, CHUNK_BYTES);
        VersionManifest bad = VersionManifest.newBuilder(treeManifest(v1, LEAF)).setLeafSize(3 << 16).build();

        VerifyResult result = store.verify(MODEL, v1.publishId(), bad);

        assertThat(result.ok()).isFalse();
        assertThat(result.problems()).anySatisfy(p -> assertThat(p).contains("leaf size 196608"));
        assertThat(result.bytesVerified()).isZero();
        VersionManifest unknown = VersionManifest.newBuilder(treeManifest(v1, LEAF))
                .setDigestKind(DigestKind.UNKNOWN).build();
        assertThat(store.verify(MODEL, v1.publishId(), unknown).problems())
                .anySatisfy(p -> assertThat(p).contains("digest kind UNKNOWN"));
    }
}
