package io.weightpub.schemas.signing;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WireCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static io.weightpub.schemas.signing.SignedRecords.manifest;
import static io.weightpub.schemas.signing.SignedRecords.rollback;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SignatureVerifierTest {

    private static final SigningKey TRAINER = SigningKey.generate();
    private static final SigningKey OTHER_TRAINER = SigningKey.generate();
    private static final SigningKey OPERATOR = SigningKey.generate();

    private static final SignatureVerifier VERIFIER = SignatureVerifier.builder()
            .publisherKeys(TrustedKeys.of(List.of(TRAINER.trusted(List.of()), OTHER_TRAINER.trusted(List.of()))))
            .operatorKeys(TrustedKeys.of(List.of(OPERATOR.trusted(List.of()))))
            .build();

    @Test
    void aSignedManifestAndASignedControlRecordVerifyAfterAWireRoundTrip() throws Exception {
        VersionManifest signed = new RecordSigner(TRAINER).sign(manifest());
        assertThat(signed.getKeyId()).isEqualTo(TRAINER.keyId());
        assertThat(signed.getSignature().remaining()).isEqualTo(64);
        assertThat(VERIFIER.checkManifest(WireCodec.MANIFEST.decode(WireCodec.MANIFEST.encode(signed)))).isEmpty();

        ControlRecord control = new RecordSigner(OPERATOR).sign(rollback());
        assertThat(VERIFIER.checkControl(WireCodec.CONTROL.decode(WireCodec.CONTROL.encode(control)))).isEmpty();
    }

    static Stream<Arguments> manifestAlterations() {
        return Stream.of(
                alter("model id", m -> m.setModelId("meta/llama-3-8c")),
                alter("step", m -> m.setStep(43)),
                alter("publish id (a replay under a new publish)", m -> m.setPublishId("p-43-a")),
                alter("schema version", m -> m.setSchemaVersion(2)),
                alter("total bytes", m -> m.setTotalBytes(193)),
                alter("chunk size", m -> m.setChunkSize(32)),
                alter("created at", m -> m.setCreatedAtMs(1_700_000_000_001L)),
                alter("key id (another trusted key's)", m -> m.setKeyId(OTHER_TRAINER.keyId())),
                alter("bucket order", m -> m.setBuckets(List.of(m.getBuckets().get(1), m.getBuckets().get(0)))),
                alter("a bucket dropped", m -> m.setBuckets(List.of(m.getBuckets().get(0)))),
                bucket("bucket index", b -> b.setIndex(7)),
                bucket("bucket offset", b -> b.setOffset(100)),
                bucket("bucket size", b -> b.setSizeBytes(97)),
                bucket("bucket chunk count", b -> b.setChunkCount(3)),
                bucket("bucket sha-256 (one bit)", b -> {
                    byte[] sha = b.getSha256().array().clone();
                    sha[31] ^= 1;
                    b.setSha256(ByteBuffer.wrap(sha));
                }),
                bucket("a tensor added", b -> {
                    List<TensorMeta> tensors = new ArrayList<>(b.getTensors());
                    tensors.add(SignedRecords.tensor("extra", List.of(1L), "U8", 95, 96, 1));
                    b.setTensors(tensors);
                }),
                tensor("tensor name", t -> t.setName("layers.1.k_proj.weight")),
                tensor("tensor shape", t -> t.setShape(List.of(8L, 4L))),
                tensor("tensor dtype", t -> t.setDtype("F16")),
                tensor("tensor start", t -> t.setStartIdx(2)),
                tensor("tensor end", t -> t.setEndIdx(62)),
                tensor("tensor numel", t -> t.setNumel(31)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("manifestAlterations")
    void alteringAnyCoveredManifestFieldBreaksTheSignature(String field, UnaryOperator<VersionManifest> alteration) {
        VersionManifest signed = new RecordSigner(TRAINER).sign(manifest());
        assertThat(VERIFIER.checkManifest(signed)).isEmpty();
        VersionManifest altered = alteration.apply(VersionManifest.newBuilder(signed).build());
        assertThat(altered).isNotEqualTo(signed);
        assertThat(VERIFIER.checkManifest(altered)).hasValueSatisfying(reason -> assertThat(reason)
                .contains("bad signature").contains("altered after signing"));
    }

    static Stream<Arguments> controlAlterations() {
        return Stream.of(
                control("model id", c -> c.setModelId("qwen/qwen-2")),
                control("action", c -> c.setAction(ControlAction.ABORT)),
                control("target version", c -> c.setTargetVersion(2L)),
                control("target version removed", c -> c.setTargetVersion(null)),
                control("publish id added", c -> c.setPublishId("p-1")),
                control("request id", c -> c.setRequestId("r-2")),
                control("reason", c -> c.setReason("")),
                control("requested at", c -> c.setRequestedAtMs(1L)),
                control("step added", c -> c.setStep(9L)),
                control("key id", c -> c.setKeyId(TRAINER.keyId())));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("controlAlterations")
    void alteringAnyControlRecordFieldBreaksTheSignature(String field, Consumer<ControlRecord.Builder> alteration) {
        ControlRecord signed = new RecordSigner(OPERATOR).sign(rollback());
        ControlRecord.Builder builder = ControlRecord.newBuilder(signed);
        alteration.accept(builder);
        ControlRecord altered = builder.build();
        assertThat(altered).isNotEqualTo(signed);
        assertThat(VERIFIER.checkControl(altered)).isPresent().get().asString()
                .containsAnyOf("bad signature", "unknown operator key");
    }

    @Test
    void unsignedRecordsAreRejectedWhenKeysAreConfiguredAndAcceptedWhenExplicitlyNotRequired() {
        assertThat(VERIFIER.manifestSignaturesRequired()).isTrue();
        assertThat(VERIFIER.checkManifest(manifest())).hasValueSatisfying(reason -> assertThat(reason)
                .contains("manifest of model 'meta/llama-3-8b' step 42 publish p-42-a is unsigned"));
        assertThat(VERIFIER.checkControl(rollback())).hasValueSatisfying(reason -> assertThat(reason)
                .contains("ROLLBACK request r-1 for model 'meta/llama-3-8b' is unsigned"));

        SignatureVerifier lenient = SignatureVerifier.builder()
                .publisherKeys(TrustedKeys.of(List.of(TRAINER.trusted(List.of())))).required(false).build();
        assertThat(lenient.checkManifest(manifest())).isEmpty();
        VersionManifest forged = new RecordSigner(OTHER_TRAINER).sign(manifest());
        assertThat(lenient.checkManifest(forged)).as("signed records are still verified").isPresent();

        assertThat(SignatureVerifier.acceptingAll().checkManifest(manifest())).isEmpty();
        assertThat(SignatureVerifier.acceptingAll().checkControl(rollback())).isEmpty();
    }

    @Test
    void aSignatureByAKeyNobodyTrustsIsRejectedByItsKeyId() {
        SigningKey stranger = SigningKey.generate();
        assertThat(VERIFIER.checkManifest(new RecordSigner(stranger).sign(manifest())))
                .hasValue("manifest of model 'meta/llama-3-8b' step 42 publish p-42-a is signed by unknown publisher key '"
                        + stranger.keyId() + "'");
        // A stranger reusing a trusted key's id does not get past the signature check.
        VersionManifest impostor = new RecordSigner(stranger.withKeyId(TRAINER.keyId())).sign(manifest());
        assertThat(VERIFIER.checkManifest(impostor)).get().asString().contains("bad signature");
    }

    @Test
    void operatorAndPublisherKeysAreSeparateSets() {
        assertThat(VERIFIER.checkManifest(new RecordSigner(OPERATOR).sign(manifest())))
                .get().asString().contains("unknown publisher key '" + OPERATOR.keyId() + "'");
        assertThat(VERIFIER.checkControl(new RecordSigner(TRAINER).sign(rollback())))
                .get().asString().contains("unknown operator key '" + TRAINER.keyId() + "'");
    }

    @Test
    void aKeyScopedToModelPatternsSignsOnlyThoseModels() {
        SignatureVerifier scoped = SignatureVerifier.builder()
                .publisherKeys(TrustedKeys.of(List.of(TRAINER.trusted(List.of("qwen/*", "meta/llama-?-70b")))))
                .build();
        VersionManifest signed = new RecordSigner(TRAINER).sign(manifest());
        assertThat(scoped.checkManifest(signed)).hasValue("manifest of model 'meta/llama-3-8b' step 42 publish p-42-a"
                + " is signed by publisher key '" + TRAINER.keyId() + "', which may sign only models [qwen/*, meta/llama-?-70b]");
        for (String model : List.of("qwen/qwen-2", "meta/llama-3-70b")) {
            VersionManifest allowed = new RecordSigner(TRAINER).sign(
                    VersionManifest.newBuilder(manifest()).setModelId(model).build());
            assertThat(scoped.checkManifest(allowed)).as(model).isEmpty();
        }
    }

    @Test
    void aMalformedSignatureIsABadSignatureNotACrash() {
        VersionManifest signed = new RecordSigner(TRAINER).sign(manifest());
        for (byte[] bad : List.of(new byte[0], new byte[63], new byte[64], new byte[65])) {
            VersionManifest broken = VersionManifest.newBuilder(signed).setSignature(ByteBuffer.wrap(bad)).build();
            assertThat(VERIFIER.checkManifest(broken)).get().asString().contains("bad signature");
        }
        VersionManifest noKeyId = VersionManifest.newBuilder(signed).setKeyId(null).build();
        assertThat(VERIFIER.checkManifest(noKeyId)).get().asString().contains("has a signature but no key id");
    }

    @Test
    void requiringSignaturesWithoutKeysToCheckThemIsAConfigurationError() {
        assertThatThrownBy(() -> SignatureVerifier.builder().required(true).build())
                .hasMessageContaining("no publisher keys");
        assertThatThrownBy(() -> SignatureVerifier.builder().required(true)
                .publisherKeys(TrustedKeys.of(List.of(TRAINER.trusted(List.of())))).build())
                .hasMessageContaining("no operator keys");
        SignatureVerifier sinkSide = SignatureVerifier.builder().required(true).manifestsOnly()
                .publisherKeys(TrustedKeys.of(List.of(TRAINER.trusted(List.of())))).build();
        assertThat(sinkSide.manifestSignaturesRequired()).isTrue();
    }

    @Test
    void aVerifierShippedByJavaSerializationStillVerifies() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(VERIFIER);
        }
        SignatureVerifier shipped;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            shipped = (SignatureVerifier) in.readObject();
        }
        assertThat(shipped.checkManifest(new RecordSigner(TRAINER).sign(manifest()))).isEmpty();
        assertThat(shipped.checkManifest(manifest())).isPresent();
    }

    private static Arguments alter(String name, Consumer<VersionManifest> change) {
        return Arguments.of(name, (UnaryOperator<VersionManifest>) m -> {
            change.accept(m);
            return m;
        });
    }

    private static Arguments bucket(String name, Consumer<BucketInfo> change) {
        return alter(name, m -> {
            List<BucketInfo> buckets = new ArrayList<>();
            for (BucketInfo b : m.getBuckets()) {
                buckets.add(BucketInfo.newBuilder(b).build());
            }
            change.accept(buckets.get(1));
            m.setBuckets(buckets);
        });
    }

    private static Arguments tensor(String name, Consumer<TensorMeta> change) {
        return bucket(name, b -> {
            List<TensorMeta> tensors = new ArrayList<>();
            for (TensorMeta t : b.getTensors()) {
                tensors.add(TensorMeta.newBuilder(t).build());
            }
            change.accept(tensors.get(0));
            b.setTensors(tensors);
        });
    }

    private static Arguments control(String name, Consumer<ControlRecord.Builder> change) {
        return Arguments.of(name, change);
    }
}
