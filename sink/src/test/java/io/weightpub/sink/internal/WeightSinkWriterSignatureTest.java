package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.signing.RecordSigner;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.schemas.signing.SigningKey;
import io.weightpub.schemas.signing.TrustedKeys;
import io.weightpub.sink.CommitMode;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.ActiveVersion;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.testutils.TestVersion;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * Defence in depth: a worker whose sink has the publisher keys re-checks the manifest of every
 * commit the job forwards, whether its bytes were staged here or not (a rollback), and refuses one
 * that does not verify without an exception, leaving what it serves as it was.
 */
class WeightSinkWriterSignatureTest {

    private static final String SINK = "signed-worker";
    private static final String MODEL = "org/llm";
    private static final int BUCKETS = 2;
    private static final int BUCKET_BYTES = 64 * 1024;
    private static final int CHUNK_BYTES = 16 * 1024;

    private final SigningKey trainerKey = SigningKey.generate().withKeyId("trainer-1");
    private final RecordSigner trainer = new RecordSigner(trainerKey);
    private WeightSinkWriter writer;
    private WeightStore store;

    @BeforeEach
    void start() {
        SignatureVerifier keys = SignatureVerifier.builder()
                .publisherKeys(TrustedKeys.of(List.of(trainerKey.trusted(List.of())))).manifestsOnly().build();
        WeightSink sink = WeightSink.builder().name(SINK).backend(StoreBackend.HOST).commitMode(CommitMode.IMMEDIATE)
                .slotsPerModel(2).residentVersions(1).signatures(keys).build();
        writer = new WeightSinkWriter(sink.workerSettings(), 0, OptionalLong.empty(), List.of(),
                UnregisteredMetricsGroup.createSinkWriterMetricGroup());
        store = WeightSink.store(SINK, 0).orElseThrow();
    }

    @AfterEach
    void release() {
        WeightSink.release(SINK);
    }

    @Test
    void aCommitWhoseManifestIsUnsignedIsRefusedEvenWhenTheJobForwardedIt() {
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        stageAndCommit(v1, trainer.sign(v1.manifest()));
        assertActive(1, v1);

        TestVersion v2 = TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES);
        assertThatCode(() -> stageAndCommit(v2, v2.manifest())).doesNotThrowAnyException();

        assertActive(1, v1);
        assertThat(store.status(MODEL).staged()).isEmpty();
        assertThat(store.status(MODEL).lastError()).hasValueSatisfying(e -> assertThat(e)
                .contains("version 2 refused on worker 0, nothing changed", "is unsigned"));
    }

    @Test
    void aCommitWhoseSignedManifestWasAlteredIsRefused() {
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        VersionManifest altered = VersionManifest.newBuilder(trainer.sign(v1.manifest()))
                .setStep(v1.step() + 1).build();

        stageAndCommit(v1, altered);

        assertThat(store.status(MODEL).active()).isEmpty();
        assertThat(store.status(MODEL).lastError()).hasValueSatisfying(e -> assertThat(e)
                .contains("bad signature for publisher key 'trainer-1'"));
    }

    @Test
    void aRollbackToResidentBytesWhoseManifestIsUnsignedIsRefusedAndASignedOneIsApplied() {
        TestVersion v1 = TestVersion.of(MODEL, 1, BUCKETS, BUCKET_BYTES);
        TestVersion v2 = TestVersion.of(MODEL, 2, BUCKETS, BUCKET_BYTES);
        stageAndCommit(v1, trainer.sign(v1.manifest()));
        stageAndCommit(v2, trainer.sign(v2.manifest()));
        assertActive(2, v2);

        writer.write(commit(v1, v1.manifest(), 3, 1), null);

        assertActive(2, v2);
        assertThat(store.status(MODEL).lastError()).hasValueSatisfying(e -> assertThat(e)
                .contains("rollback to version 1: version 3 refused on worker 0", "is unsigned"));

        writer.write(commit(v1, trainer.sign(v1.manifest()), 3, 1), null);
        assertActive(3, v1);
    }

    private void stageAndCommit(TestVersion version, VersionManifest manifest) {
        for (int i = version.chunkCount(CHUNK_BYTES) - 1; i >= 0; i--) {
            writer.write(version.chunk(i, CHUNK_BYTES), null);
        }
        writer.write(commit(version, manifest, version.version(), version.version()), null);
    }

    /** The job's commit of {@code content}'s bytes as {@code version}, with {@code manifest}. */
    private static WeightEvent commit(TestVersion content, VersionManifest manifest, long version,
            long contentVersion) {
        VersionIndexEntry location = VersionIndexEntry.newBuilder()
                .setModelId(MODEL)
                .setVersion(version)
                .setContentVersion(contentVersion)
                .setStep(content.step())
                .setPublishId(content.publishId())
                .setTotalBytes((long) content.size())
                .setManifestSha256(ByteBuffer.wrap(new byte[32]))
                .setManifestRange(new KafkaOffsetRange("none.manifests", 0, -1L, -1L))
                .setChunkRanges(List.of())
                .setBucketSha256(List.of())
                .setCompletedAtMs(0)
                .build();
        return WeightEvent.commitVersion(MODEL, content.publishId(), content.step(), version, contentVersion,
                content.size(), WireCodec.MANIFEST.encode(manifest), WireCodec.VERSION_INDEX.encode(location),
                version == contentVersion ? "publish" : "rollback");
    }

    private void assertActive(long version, TestVersion content) {
        try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
            assertThat(lease.info().version()).isEqualTo(version);
            assertThat(lease.info().publishId()).isEqualTo(content.publishId());
        }
    }
}
