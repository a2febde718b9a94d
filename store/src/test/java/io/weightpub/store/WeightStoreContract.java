package io.weightpub.store;

import io.weightpub.testutils.TestVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static io.weightpub.store.StagedTestVersions.stageInto;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What every {@link WeightStore} backend must do; each backend's test extends this. */
public abstract class WeightStoreContract {

    protected static final String MODEL = "llm";
    protected static final int BUCKETS = 4;
    protected static final int BUCKET_BYTES = 64 * 1024;
    protected static final int CHUNK_BYTES = 24 * 1024;

    private final List<WeightStore> opened = new ArrayList<>();

    /** Opens the backend under test with {@code config} (tests set what they need on top of defaults). */
    protected abstract WeightStore open(WeightStoreConfig.Builder config);

    protected WeightStore store(WeightStoreConfig.Builder config) {
        WeightStore store = open(config);
        opened.add(store);
        return store;
    }

    protected WeightStore store() {
        return store(WeightStoreConfig.builder());
    }

    @AfterEach
    void closeStores() {
        opened.forEach(WeightStore::close);
    }

    protected static void commit(WeightStore store, TestVersion version) throws SlotsExhaustedException {
        stageInto(store, version, CHUNK_BYTES);
        VerifyResult result = store.verify(MODEL, version.publishId(), version.manifest());
        assertThat(result.ok()).as(result.describe()).isTrue();
        assertThat(store.commit(MODEL, version.publishId(), version.version(), version.version()))
                .isEqualTo(CommitOutcome.FLIPPED);
    }

    protected static byte[] readAll(ActiveVersion lease) {
        byte[] out = new byte[(int) lease.info().sizeBytes()];
        lease.read(0, out, 0, out.length);
        return out;
    }

    @Test
    void chunksStagedInAnyOrderAndResentReadBackBitExactAfterCommit() throws Exception {
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        store.stage(MODEL, v1.publishId(), v1.step(), v1.size());
        for (int i = v1.chunkCount(CHUNK_BYTES) - 1; i >= 0; i--) {
            byte[] payload = v1.chunk(i, CHUNK_BYTES).payload();
            store.write(MODEL, v1.publishId(), (long) i * CHUNK_BYTES, payload, 0, payload.length);
        }
        byte[] resent = v1.chunk(2, CHUNK_BYTES).payload();
        store.write(MODEL, v1.publishId(), 2L * CHUNK_BYTES, resent, 0, resent.length);

        VerifyResult result = store.verify(MODEL, v1.publishId(), v1.manifest());
        assertThat(result.ok()).as(result.describe()).isTrue();
        assertThat(result.bytesVerified()).isEqualTo(v1.size());
        assertThat(store.commit(MODEL, v1.publishId(), 1, 1)).isEqualTo(CommitOutcome.FLIPPED);

        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(lease.info().version()).isEqualTo(1);
            assertThat(lease.info().step()).isEqualTo(v1.step());
            assertThat(readAll(lease)).isEqualTo(v1.bytes());
            assertThat(lease.sha256(0, v1.size())).isEqualTo(v1.sha256());
        }
    }

    @Test
    void bucketsHashedEarlyVerifyAndAWriteAfterTheEarlyHashIsStillCaught() throws Exception {
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        stageInto(store, v1, CHUNK_BYTES);
        for (int bucket = 0; bucket < BUCKETS; bucket++) {
            store.prehash(MODEL, v1.publishId(), (long) bucket * BUCKET_BYTES, BUCKET_BYTES);
        }
        // A byte of bucket 2 changes after its early hash: verification must see the slot as it is now.
        store.write(MODEL, v1.publishId(), 2L * BUCKET_BYTES + 17, new byte[] {(byte) ~v1.bytes()[2 * BUCKET_BYTES + 17]},
                0, 1);

        VerifyResult result = store.verify(MODEL, v1.publishId(), v1.manifest());

        assertThat(result.failedBuckets()).containsExactly(2);
        store.write(MODEL, v1.publishId(), 2L * BUCKET_BYTES + 17, v1.bytes(), 2 * BUCKET_BYTES + 17, 1);
        VerifyResult repaired = store.verify(MODEL, v1.publishId(), v1.manifest());
        assertThat(repaired.ok()).as(repaired.describe()).isTrue();
        assertThat(store.commit(MODEL, v1.publishId(), 1, 1)).isEqualTo(CommitOutcome.FLIPPED);
    }

    @Test
    void digestMismatchBlocksTheCommitNamesTheBucketAndKeepsThePreviousVersion() throws Exception {
        WeightStore store = store();
        commit(store, TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES));
        TestVersion bad = TestVersion.withWrongDigest(MODEL, 2, BUCKETS, BUCKET_BYTES, 1);
        stageInto(store, bad, CHUNK_BYTES);

        VerifyResult result = store.verify(MODEL, bad.publishId(), bad.manifest());

        assertThat(result.ok()).isFalse();
        assertThat(result.failedBuckets()).containsExactly(1);
        assertThat(result.describe()).contains("bucket 1", bad.publishId(), MODEL);
        assertThat(store.commit(MODEL, bad.publishId(), 2, 2)).isEqualTo(CommitOutcome.NOT_VERIFIED);
        assertThat(store.status(MODEL).active().orElseThrow().version()).isEqualTo(1);
        assertThat(store.status(MODEL).lastError()).hasValueSatisfying(e -> assertThat(e).contains("bucket 1"));

        assertThat(store.abort(MODEL, bad.publishId())).isTrue();
        commit(store, TestVersion.of(MODEL, 3, BUCKETS, BUCKET_BYTES));
        assertThat(store.status(MODEL).active().orElseThrow().version()).isEqualTo(3);
    }

    @Test
    void bytesInTheSlotThatDifferFromTheManifestFailVerification() throws Exception {
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        stageInto(store, v1, CHUNK_BYTES);
        byte[] flipped = {(byte) (v1.bytes()[3 * BUCKET_BYTES + 17] ^ 0x40)};
        store.write(MODEL, v1.publishId(), 3L * BUCKET_BYTES + 17, flipped, 0, 1);

        VerifyResult result = store.verify(MODEL, v1.publishId(), v1.manifest());

        assertThat(result.failedBuckets()).containsExactly(3);
        VerifyResult.BucketMismatch mismatch = result.mismatches().get(0);
        assertThat(mismatch.expectedSha256()).isEqualTo(TestVersion.sha256(v1.bytes(), 3 * BUCKET_BYTES, BUCKET_BYTES));
        assertThat(mismatch.actualSha256()).isNotEqualTo(mismatch.expectedSha256());
    }

    @Test
    void manifestThatDisagreesWithTheStagedSizeIsReportedAsAProblem() throws Exception {
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        store.stage(MODEL, v1.publishId(), v1.step(), v1.size() + 8);

        VerifyResult result = store.verify(MODEL, v1.publishId(), v1.manifest());

        assertThat(result.ok()).isFalse();
        assertThat(result.problems()).anySatisfy(p -> assertThat(p).contains(String.valueOf(v1.size() + 8)));
    }

    @Test
    void leaseKeepsReadingItsVersionAfterAFlipAndHoldsItsSlot() throws Exception {
        WeightStore store = store(WeightStoreConfig.builder().leaseWaitTimeout(Duration.ofMillis(200)));
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        TestVersion v2 = TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES);
        TestVersion v3 = TestVersion.of(MODEL, 3, BUCKETS, BUCKET_BYTES);
        commit(store, v1);
        ActiveVersion old = store.acquire(MODEL).orElseThrow();

        commit(store, v2);

        assertThat(old.info().version()).isEqualTo(1);
        assertThat(readAll(old)).isEqualTo(v1.bytes());
        try (ActiveVersion current = store.acquire(MODEL).orElseThrow()) {
            assertThat(current.info().version()).isEqualTo(2);
            assertThat(readAll(current)).isEqualTo(v2.bytes());
        }
        assertThatThrownBy(() -> store.stage(MODEL, v3.publishId(), v3.step(), v3.size()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("readers to release");
        old.close();
        assertThatThrownBy(() -> old.read(0, new byte[1], 0, 1)).isInstanceOf(IllegalStateException.class);
        commit(store, v3);
        assertThat(store.status(MODEL).active().orElseThrow().version()).isEqualTo(3);
    }

    @Test
    void commitsAreIdempotentAndNeverGoBackwards() throws Exception {
        WeightStore store = store(WeightStoreConfig.builder().slotsPerModel(3));
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        TestVersion v2 = TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES);
        stageInto(store, v1, CHUNK_BYTES);
        assertThat(store.verify(MODEL, v1.publishId(), v1.manifest()).ok()).isTrue();
        commit(store, v2);

        assertThat(store.commit(MODEL, v2.publishId(), 2, 2)).isEqualTo(CommitOutcome.ALREADY_ACTIVE);
        assertThat(store.commit(MODEL, v1.publishId(), 1, 1)).isEqualTo(CommitOutcome.STALE);
        assertThat(store.commit(MODEL, "never-staged", 5, 5)).isEqualTo(CommitOutcome.NOT_STAGED);
        assertThat(store.status(MODEL).active().orElseThrow().version()).isEqualTo(2);
        assertThat(store.status(MODEL).staged()).isEmpty();
    }

    @Test
    void newPublishFindsNoSlotWhileTheOnlyShadowHoldsAnotherPublish() throws Exception {
        WeightStore store = store();
        commit(store, TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES));
        TestVersion v2 = TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES);
        stageInto(store, v2, CHUNK_BYTES);

        assertThatThrownBy(() -> store.stage(MODEL, "publish-3", 30, 100))
                .isInstanceOfSatisfying(SlotsExhaustedException.class, e -> assertThat(e.holders())
                        .extracting(StagedPublish::publishId).containsExactly(v2.publishId()))
                .hasMessageContaining("publish-3");
    }

    @Test
    void retiredVersionStaysResidentAndARollbackToItIsAFlipWhileItsOldReadersKeepReading() throws Exception {
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        TestVersion v2 = TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES);
        commit(store, v1);
        ActiveVersion oldReader = store.acquire(MODEL).orElseThrow();
        commit(store, v2);

        assertThat(store.stageResident(MODEL, v1.publishId())).hasValueSatisfying(staged -> {
            assertThat(staged.verified()).isTrue();
            assertThat(staged.bytesWritten()).isEqualTo(v1.size());
        });
        assertThat(store.commit(MODEL, v1.publishId(), 3, 1)).isEqualTo(CommitOutcome.FLIPPED);

        assertThat(readAll(oldReader)).isEqualTo(v1.bytes());
        oldReader.close();
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(lease.info().version()).isEqualTo(3);
            assertThat(lease.info().contentVersion()).isEqualTo(1);
            assertThat(lease.info().publishId()).isEqualTo(v1.publishId());
            assertThat(readAll(lease)).isEqualTo(v1.bytes());
            assertThat(lease.tensorNames()).hasSize(BUCKETS * TestVersion.TENSORS_PER_BUCKET);
        }
        // v2 retired in its turn and the next publish can still stage (into v2's slot).
        commit(store, TestVersion.of(MODEL, 4, BUCKETS, BUCKET_BYTES));
        assertThat(store.memory().slots()).isEqualTo(2);
    }

    @Test
    void slotReusedByAPublishNoLongerHoldsItsRetiredVersion() throws Exception {
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        commit(store, v1);
        commit(store, TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES));
        TestVersion v3 = TestVersion.of(MODEL, 3, BUCKETS, BUCKET_BYTES);
        store.stage(MODEL, v3.publishId(), v3.step(), v3.size());

        assertThat(store.stageResident(MODEL, v1.publishId())).isEmpty();
        assertThat(store.stageResident(MODEL, "never-committed")).isEmpty();
        assertThat(store.stageResident("other-model", v1.publishId())).isEmpty();
    }

    @Test
    void residentVersionsKeepExtraSlotsAndTheLongestRetiredIsReusedFirst() throws Exception {
        WeightStore store = store(WeightStoreConfig.builder().slotsPerModel(2).residentVersions(1));
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        TestVersion v2 = TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES);
        commit(store, v1);
        commit(store, v2);
        commit(store, TestVersion.of(MODEL, 3, BUCKETS, BUCKET_BYTES));
        assertThat(store.memory().slots()).isEqualTo(3);

        commit(store, TestVersion.of(MODEL, 4, BUCKETS, BUCKET_BYTES));

        assertThat(store.memory().slots()).isEqualTo(3);
        assertThat(store.stageResident(MODEL, v1.publishId())).isEmpty();
        assertThat(store.stageResident(MODEL, v2.publishId())).isPresent();
        assertThat(store.commit(MODEL, v2.publishId(), 5, 2)).isEqualTo(CommitOutcome.FLIPPED);
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(readAll(lease)).isEqualTo(v2.bytes());
        }
    }

    @Test
    void commitOfThePublishWhoseBytesAreActiveRelabelsItAsTheNewVersion() throws Exception {
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        commit(store, v1);

        assertThat(store.commit(MODEL, v1.publishId(), 2, 1)).isEqualTo(CommitOutcome.FLIPPED);
        assertThat(store.commit(MODEL, v1.publishId(), 2, 1)).isEqualTo(CommitOutcome.ALREADY_ACTIVE);

        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(lease.info().version()).isEqualTo(2);
            assertThat(lease.info().contentVersion()).isEqualTo(1);
            assertThat(readAll(lease)).isEqualTo(v1.bytes());
        }
    }

    @Test
    void tensorLookupGivesAddressOffsetShapeAndDtypeOfTheActiveVersion() throws Exception {
        WeightStore store = store();
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        commit(store, v1);
        int tensorBytes = BUCKET_BYTES / TestVersion.TENSORS_PER_BUCKET;

        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(lease.tensorNames()).hasSize(BUCKETS * TestVersion.TENSORS_PER_BUCKET)
                    .startsWith(TestVersion.tensorName(0, 0), TestVersion.tensorName(0, 1));
            TensorRef tensor = lease.tensor(TestVersion.tensorName(2, 1)).orElseThrow();
            assertThat(tensor.offset()).isEqualTo(2L * BUCKET_BYTES + tensorBytes);
            assertThat(tensor.sizeBytes()).isEqualTo(tensorBytes);
            assertThat(tensor.shape()).containsExactly((long) tensorBytes / 4);
            assertThat(tensor.dtype()).isEqualTo("F32");
            assertThat(tensor.slotAddress()).isEqualTo(lease.slotAddress()).isNotZero();
            assertThat(tensor.address()).isEqualTo(lease.slotAddress() + tensor.offset());
            assertThat(HexFormat.of().formatHex(lease.sha256(tensor.offset(), tensor.sizeBytes())))
                    .isEqualTo(v1.tensorSha256Hex(2, 1));
            assertThat(lease.tensor("no.such.tensor")).isEmpty();
        }
    }

    @Test
    void concurrentReadersNeverSeeAMixedVersionAcrossManyFlips() throws Exception {
        WeightStore store = store(WeightStoreConfig.builder().slotsPerModel(2));
        int versions = 40;
        Map<Long, TestVersion> byVersion = new HashMap<>();
        Map<Long, byte[]> expected = new HashMap<>();
        for (long v = 1; v <= versions; v++) {
            TestVersion version = TestVersion.of(MODEL, v, BUCKETS, BUCKET_BYTES);
            byVersion.put(v, version);
            expected.put(v, version.sha256());
        }
        commit(store, byVersion.get(1L));
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong reads = new AtomicLong();
        List<String> mixed = new ArrayList<>();
        Set<Long> seen = ConcurrentHashMap.newKeySet();
        Runnable read = () -> {
            try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
                long version = lease.info().version();
                byte[] digest = lease.sha256(0, lease.info().sizeBytes());
                if (!java.util.Arrays.equals(digest, expected.get(version))) {
                    synchronized (mixed) {
                        mixed.add("version " + version + " read as " + HexFormat.of().formatHex(digest));
                    }
                }
                seen.add(version);
                reads.incrementAndGet();
            }
        };
        List<Thread> readers = new ArrayList<>();
        int readerCount = 3;
        CountDownLatch everyReaderRead = new CountDownLatch(readerCount);
        for (int r = 0; r < readerCount; r++) {
            Thread reader = new Thread(() -> {
                read.run();
                everyReaderRead.countDown();
                while (!done.get()) {
                    read.run();
                }
            });
            reader.start();
            readers.add(reader);
        }
        try {
            // Flip only once every reader is reading: a slow-starting thread could otherwise miss every flip.
            assertThat(everyReaderRead.await(60, TimeUnit.SECONDS)).as("every reader read once").isTrue();
            for (long v = 2; v <= versions; v++) {
                commit(store, byVersion.get(v));
            }
        } finally {
            done.set(true);
            for (Thread reader : readers) {
                reader.join();
            }
        }

        assertThat(mixed).isEmpty();
        assertThat(reads.get()).isPositive();
        assertThat(seen.size()).as("versions readers saw").isGreaterThan(1);
        assertThat(store.status(MODEL).active().orElseThrow().version()).isEqualTo(versions);
    }

    @Test
    void closeFreesEverySlotAndStagingBuffer() throws Exception {
        WeightStore store = open(WeightStoreConfig.builder());
        commit(store, TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES));
        stageInto(store, TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES), CHUNK_BYTES);
        assertThat(store.memory().slots()).isEqualTo(2);
        assertThat(store.memory().slotBytes()).isEqualTo(2L * BUCKETS * BUCKET_BYTES);

        store.close();

        MemoryStats after = store.memory();
        assertThat(after.slots()).isZero();
        assertThat(after.slotBytes()).isZero();
        assertThat(after.pinnedBytes()).isZero();
        assertThat(store.acquire(MODEL)).isEmpty();
    }
}
