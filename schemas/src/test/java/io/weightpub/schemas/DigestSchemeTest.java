package io.weightpub.schemas;


import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DigestSchemeTest {

    private static VersionManifest manifest(DigestKind kind, Integer leafSize) {
        return VersionManifest.newBuilder().setModelId("m").setStep(1).setPublishId("p").setTotalBytes(0)
                .setChunkSize(1).setBuckets(List.of()).setCreatedAtMs(0).setDigestKind(kind).setLeafSize(leafSize)
                .build();
    }

    @Test
    void aManifestWithoutADigestKindIsThePlainSha256() {
        assertThat(DigestScheme.of(manifest(null, null))).isEqualTo(DigestScheme.flat());
        assertThat(DigestScheme.of(manifest(DigestKind.SHA256, null))).isEqualTo(DigestScheme.flat());
    }

    @Test
    void aTreeManifestDeclaresItsLeafSize() {
        DigestScheme scheme = DigestScheme.of(manifest(DigestKind.SHA256_TREE, 1 << 20));
        assertThat(scheme.isTree()).isTrue();
        assertThat(scheme.leafSize()).isEqualTo(1 << 20);
        assertThat(scheme.leafCount((3L << 20) + 1)).isEqualTo(4);
    }

    @ParameterizedTest(name = "leaf size {0}")
    @ValueSource(ints = {0, -65536, 1, 4096, 65535, 65537, 3 << 16, 128 << 20, Integer.MIN_VALUE, Integer.MAX_VALUE})
    void aLeafSizeThatIsNoPowerOfTwoInBoundsIsRefusedWithItsValue(int leaf) {
        assertThatThrownBy(() -> DigestScheme.of(manifest(DigestKind.SHA256_TREE, leaf)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaf size " + leaf);
    }

    @Test
    void aTreeWithoutLeafSizeAFlatDigestWithOneAndAnUnknownKindAreRefused() {
        assertThatThrownBy(() -> DigestScheme.of(manifest(DigestKind.SHA256_TREE, null)))
                .hasMessageContaining("without a leaf size");
        assertThatThrownBy(() -> DigestScheme.of(manifest(DigestKind.SHA256, 65536)))
                .hasMessageContaining("claims leaf size 65536");
        assertThatThrownBy(() -> DigestScheme.of(manifest(DigestKind.UNKNOWN, 65536)))
                .hasMessageContaining("UNKNOWN");
    }

    @Test
    void publishersWriteTheTreeWithQuarterMebibyteLeavesByDefault() {
        VersionManifest declared = DigestScheme.defaultTree().declareOn(VersionManifest.newBuilder(manifest(null, null))).build();
        assertThat(declared.getDigestKind()).isEqualTo(DigestKind.SHA256_TREE);
        assertThat(declared.getLeafSize()).isEqualTo(256 << 10);
    }
}
