package io.weightpub.schemas.signing;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.signing.internal.CanonicalEncoding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Test vectors of the canonical encoding and signatures, produced by an independent Python
 * implementation of docs/security.md (struct + the cryptography package) with the RFC 8032
 * test 1 key; the same vectors are in the doc.
 */
class CanonicalEncodingTest {

    /** RFC 8032, 7.1, test 1: the secret key, wrapped as PKCS#8. */
    private static final String RFC8032_TEST1_PKCS8 =
            "302e020100300506032b657004220420" + "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

    static final String MANIFEST_CANONICAL = "000000137765696768747075622d7369676e65642d763100000024696f2e7765696768747075622e736368656d61732e"
                + "56657273696f6e4d616e696665737400000009000000086d6f64656c5f6964000000016d000000047374657000000000"
                + "000000010000000a7075626c6973685f696400000001700000000e736368656d615f76657273696f6e00000001000000"
                + "0b746f74616c5f627974657300000000000000040000000a6368756e6b5f73697a6500000004000000076275636b6574"
                + "73000000010000000600000005696e64657800000000000000066f666673657400000000000000000000000a73697a65"
                + "5f627974657300000000000000040000000b6368756e6b5f636f756e7400000001000000067368613235360000002005"
                + "4edec1d0211f624fed0cbca9d4f9400b0e491c43742af2c5b0abebf0c990d80000000774656e736f7273000000010000"
                + "0006000000046e616d650000000177000000057368617065000000010000000000000002000000056474797065000000"
                + "034631360000000973746172745f696478000000000000000000000007656e645f696478000000000000000400000005"
                + "6e756d656c00000000000000020000000d637265617465645f61745f6d730000018bcfe56800000000066b65795f6964"
                + "0000000d726663383033322d7465737431";
    static final String MANIFEST_SIGNATURE = "efadcdc4e9918bdf669795838558b176ef08231ed3bd7814df508ac0cd35483d45c4847f29e95520535fb8c1d536a28c"
                + "19ef626bddf62ba65f11131ae1a9ea0d";
    static final String CONTROL_CANONICAL = "000000137765696768747075622d7369676e65642d763100000022696f2e7765696768747075622e736368656d61732e"
                + "436f6e74726f6c5265636f726400000007000000086d6f64656c5f6964000000016d00000006616374696f6e00000008"
                + "524f4c4c4241434b0000000e7461726765745f76657273696f6e00000000000000030000000a726571756573745f6964"
                + "000000017200000006726561736f6e000000000000000f7265717565737465645f61745f6d730000018bcfe569f40000"
                + "00066b65795f69640000000d726663383033322d7465737431";
    static final String CONTROL_SIGNATURE = "9271cd457463e6c538ebc5e7fa9e263931537432214f19a587e9d57ce7a7d36d40b5064c7fd96f16984d7a54e8d0fce9"
                + "2bbcf88bf083f946b68bc5c170147302";

    @TempDir
    Path dir;

    static VersionManifest vectorManifest() throws Exception {
        byte[] sha = MessageDigest.getInstance("SHA-256").digest(new byte[] {0, 1, 2, 3});
        BucketInfo bucket = BucketInfo.newBuilder().setIndex(0).setOffset(0).setSizeBytes(4).setChunkCount(1)
                .setSha256(ByteBuffer.wrap(sha))
                .setTensors(List.of(SignedRecords.tensor("w", List.of(2L), "F16", 0, 4, 2))).build();
        return VersionManifest.newBuilder().setModelId("m").setStep(1).setPublishId("p").setSchemaVersion(1)
                .setTotalBytes(4).setChunkSize(4).setBuckets(List.of(bucket)).setCreatedAtMs(1_700_000_000_000L)
                .setKeyId("rfc8032-test1").build();
    }

    static ControlRecord vectorControl() {
        return ControlRecord.newBuilder().setModelId("m").setAction(ControlAction.ROLLBACK).setTargetVersion(3L)
                .setRequestId("r").setReason("").setRequestedAtMs(1_700_000_000_500L).setKeyId("rfc8032-test1")
                .build();
    }

    @Test
    void theCanonicalEncodingMatchesTheIndependentImplementationByteForByte() throws Exception {
        assertThat(HexFormat.of().formatHex(CanonicalEncoding.of(vectorManifest()))).isEqualTo(MANIFEST_CANONICAL);
        assertThat(HexFormat.of().formatHex(CanonicalEncoding.of(vectorControl()))).isEqualTo(CONTROL_CANONICAL);
    }

    @Test
    void signaturesMatchTheIndependentImplementationAndVerify() throws Exception {
        Path pem = dir.resolve("rfc8032.key.pem");
        Files.writeString(pem, "Key-Id: rfc8032-test1\n-----BEGIN PRIVATE KEY-----\n"
                + Base64.getEncoder().encodeToString(HexFormat.of().parseHex(RFC8032_TEST1_PKCS8))
                + "\n-----END PRIVATE KEY-----\n");
        SigningKey key = SigningKey.load(pem);
        assertThat(HexFormat.of().formatHex(key.publicKey().getEncoded())).as("RFC 8032 test 1 public key")
                .endsWith("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");

        VersionManifest signed = new RecordSigner(key).sign(vectorManifest());
        assertThat(HexFormat.of().formatHex(signed.getSignature().array())).isEqualTo(MANIFEST_SIGNATURE);
        ControlRecord control = new RecordSigner(key).sign(vectorControl());
        assertThat(HexFormat.of().formatHex(control.getSignature().array())).isEqualTo(CONTROL_SIGNATURE);

        SignatureVerifier verifier = SignatureVerifier.builder()
                .publisherKeys(TrustedKeys.of(List.of(key.trusted(List.of()))))
                .operatorKeys(TrustedKeys.of(List.of(key.trusted(List.of())))).build();
        assertThat(verifier.checkManifest(signed)).isEmpty();
        assertThat(verifier.checkControl(control)).isEmpty();
    }

    @Test
    void aFieldLeftNullIsLeftOutSoLaterOptionalFieldsKeepOldSignaturesValid() throws Exception {
        VersionManifest unsignedNoKey = VersionManifest.newBuilder(vectorManifest()).setKeyId(null).build();
        String withoutKeyId = HexFormat.of().formatHex(CanonicalEncoding.of(unsignedNoKey));
        // 9 fields present instead of 10 (the count follows the two length-prefixed names)...
        assertThat(MANIFEST_CANONICAL).contains("0000000900000008" + "6d6f64656c5f6964");
        assertThat(withoutKeyId).contains("0000000800000008" + "6d6f64656c5f6964");
        // ...and the key id's name and value are gone from the end.
        assertThat(withoutKeyId + "000000066b65795f69640000000d726663383033322d7465737431")
                .isEqualTo(MANIFEST_CANONICAL.replace("0000000900000008", "0000000800000008"));
    }
}
