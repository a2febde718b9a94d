package io.weightpub.publisher;

import io.weightpub.publisher.testutils.MalformedSafetensors;
import io.weightpub.publisher.testutils.ReassembledVersion;
import io.weightpub.publisher.testutils.SafetensorsFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsCheckpointTest {

    @TempDir
    Path dir;

    @Test
    void readsTensorsOfASingleFileInDataOrderWithMetadata() throws IOException {
        byte[] data = SafetensorsFiles.counting(8 + 6 + 0 + 4, 1);
        Path file = SafetensorsFiles.write(dir.resolve("one.safetensors"),
                "{\"__metadata__\":{\"format\":\"pt\"},"
                        + "\"z.norm\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"a.scale\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[14,18]},"
                        + "\"m.empty\":{\"dtype\":\"BF16\",\"shape\":[0,4],\"data_offsets\":[14,14]},"
                        + "\"b.ids\":{\"dtype\":\"I16\",\"shape\":[3],\"data_offsets\":[8,14]}}     ",
                data);
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(file)) {
            assertThat(checkpoint.tensors()).extracting(TensorSource::name)
                    .containsExactly("z.norm", "b.ids", "a.scale", "m.empty");
            assertThat(checkpoint.metadata()).containsEntry("format", "pt");
            assertThat(checkpoint.files()).containsExactly(file);
            assertThat(checkpoint.tensorBytes()).isEqualTo(18);
            TensorSource scalar = checkpoint.tensor("a.scale");
            assertThat(scalar.shape()).isEmpty();
            assertThat(scalar.numel()).isEqualTo(1);
            assertThat(ReassembledVersion.read(scalar)).containsExactly(Arrays.copyOfRange(data, 14, 18));
            assertThat(ReassembledVersion.read(checkpoint.tensor("b.ids")))
                    .containsExactly(Arrays.copyOfRange(data, 8, 14));
            assertThat(checkpoint.tensor("m.empty").byteSize()).isZero();
        }
    }

    @Test
    void readsAShardedDirectoryThroughItsIndex() throws IOException {
        Path checkpoint = SyntheticCheckpoint.builder().hiddenSize(64).layers(2).shards(3).build()
                .write(dir.resolve("sharded"));
        try (SafetensorsCheckpoint opened = SafetensorsCheckpoint.open(checkpoint)) {
            assertThat(opened.files()).hasSize(3);
            assertThat(opened.tensors()).hasSize(3 + 9 * 2);
            assertThat(opened.tensors().get(0).name()).isEqualTo("model.embed_tokens.weight");
            assertThat(opened.tensors().get(opened.tensors().size() - 1).name()).isEqualTo("lm_head.weight");
        }
    }

    @Test
    void readsADirectoryOfSafetensorsFilesWithoutIndexInFileNameOrder() throws IOException {
        SafetensorsFiles.write(dir.resolve("b.safetensors"),
                "{\"second\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[] {3, 4});
        SafetensorsFiles.write(dir.resolve("a.safetensors"),
                "{\"first\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[] {1, 2});
        Files.writeString(dir.resolve("config.json"), "{}");
        try (SafetensorsCheckpoint opened = SafetensorsCheckpoint.open(dir)) {
            assertThat(opened.tensors()).extracting(TensorSource::name).containsExactly("first", "second");
            assertThat(ReassembledVersion.read(opened.tensor("second"))).containsExactly(3, 4);
        }
    }

    @ParameterizedTest
    @EnumSource(MalformedSafetensors.class)
    void rejectsAMalformedCheckpointNamingTheFileAndTensor(MalformedSafetensors malformed) throws IOException {
        Path broken = malformed.write(Files.createDirectories(dir.resolve(malformed.name())));
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(broken))
                .isInstanceOfSatisfying(CheckpointFormatException.class, e -> {
                    assertThat(e.getMessage()).contains(malformed.messageFragment());
                    assertThat(e.file().startsWith(broken)).as("%s names a file under %s", e.file(), broken).isTrue();
                    assertThat(e.getMessage()).startsWith(e.file().toString());
                    if (malformed.tensor() == null) {
                        assertThat(e.tensor()).isEmpty();
                    } else {
                        assertThat(e.tensor()).contains(malformed.tensor());
                        assertThat(e.getMessage()).contains("tensor '" + malformed.tensor() + "'");
                    }
                });
    }

    @Test
    void rejectsAPathThatDoesNotExist() {
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(dir.resolve("missing")))
                .isInstanceOf(CheckpointFormatException.class)
                .hasMessageContaining("no such file or directory");
    }

    @Test
    void failsNamingTheCheckpointWhenATensorIsNotThere() throws IOException {
        Path file = SafetensorsFiles.write(dir.resolve("x.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]);
        try (SafetensorsCheckpoint opened = SafetensorsCheckpoint.open(file)) {
            assertThatThrownBy(() -> opened.tensor("b")).hasMessageContaining(file + " has no tensor 'b'");
        }
    }
}
