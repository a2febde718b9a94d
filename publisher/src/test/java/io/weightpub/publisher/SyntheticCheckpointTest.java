package io.weightpub.publisher;

import io.weightpub.publisher.testutils.ReassembledVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SyntheticCheckpointTest {

    @TempDir
    Path dir;

    @Test
    void writesALlamaShapedCheckpointWithBf16WeightsAndF32Norms() throws IOException {
        SyntheticCheckpoint model = SyntheticCheckpoint.builder().hiddenSize(256).layers(2).build();
        try (SafetensorsCheckpoint opened = SafetensorsCheckpoint.open(model.write(dir.resolve("m")))) {
            assertThat(opened.tensors()).hasSize(3 + 9 * 2);
            assertThat(opened.tensorBytes()).isEqualTo(model.tensorBytes());
            assertThat(opened.tensor("model.embed_tokens.weight").shape()).containsExactly(8192, 256);
            assertThat(opened.tensor("model.layers.1.self_attn.k_proj.weight").shape())
                    .as("grouped-query attention: 4 heads of 64, 1 kv head").containsExactly(64, 256);
            assertThat(opened.tensor("model.layers.0.mlp.down_proj.weight").shape()).containsExactly(256, 704);
            assertThat(opened.tensor("model.norm.weight").dtype()).isEqualTo(DType.F32);
            assertThat(opened.tensor("lm_head.weight").dtype()).isEqualTo(DType.BF16);
            assertThat(opened.metadata()).containsEntry("seed", "42");

            ByteBuffer norm = ByteBuffer.wrap(ReassembledVersion.read(opened.tensor("model.norm.weight")))
                    .order(ByteOrder.LITTLE_ENDIAN);
            while (norm.hasRemaining()) {
                assertThat(norm.getFloat()).isBetween(1.0f, 1.05f);
            }
            ByteBuffer weights = ByteBuffer.wrap(ReassembledVersion.read(opened.tensor("model.layers.0.mlp.up_proj.weight")))
                    .order(ByteOrder.LITTLE_ENDIAN);
            while (weights.hasRemaining()) {
                float value = Float.intBitsToFloat((weights.getShort() & 0xFFFF) << 16);
                assertThat(Math.abs(value)).isBetween(1f / 128, 1f / 8);
            }
        }
    }

    @Test
    void theSameSeedWritesTheSameBytesWhetherShardedOrNot() throws IOException {
        SyntheticCheckpoint.Builder builder = SyntheticCheckpoint.builder().hiddenSize(128).layers(3).seed(77);
        Path single = builder.build().write(dir.resolve("single"));
        Path sharded = builder.shards(4).build().write(dir.resolve("sharded"));
        Path otherSeed = builder.shards(1).seed(78).build().write(dir.resolve("other"));
        assertThat(Files.list(sharded).filter(p -> p.toString().endsWith(".safetensors")).count()).isEqualTo(4);
        try (SafetensorsCheckpoint a = SafetensorsCheckpoint.open(single);
                SafetensorsCheckpoint b = SafetensorsCheckpoint.open(sharded);
                SafetensorsCheckpoint c = SafetensorsCheckpoint.open(otherSeed)) {
            for (TensorSource t : a.tensors()) {
                assertThat(ReassembledVersion.read(b.tensor(t.name()))).as(t.name())
                        .isEqualTo(ReassembledVersion.read(t));
            }
            assertThat(ReassembledVersion.read(c.tensor("lm_head.weight")))
                    .isNotEqualTo(ReassembledVersion.read(a.tensor("lm_head.weight")));
        }
    }

    @Test
    void picksDimensionsThatComeCloseToATargetSizeWithoutExceedingIt() {
        for (long target : new long[] {4L << 20, 64L << 20, 1L << 30, 20L << 30}) {
            SyntheticCheckpoint model = SyntheticCheckpoint.builder().targetBytes(target).build();
            assertThat(model.tensorBytes()).as("%s for %d", model, target).isLessThanOrEqualTo(target)
                    .isGreaterThan(target * 8 / 10);
            assertThat(model.layers()).isGreaterThanOrEqualTo(16);
        }
        assertThat(SyntheticCheckpoint.builder().targetBytes(20L << 30).build().hiddenSize()).isEqualTo(5120);
    }

    @Test
    void refusesToWriteOverAnExistingCheckpointOrToShardBeyondItsTensors() throws IOException {
        SyntheticCheckpoint model = SyntheticCheckpoint.builder().hiddenSize(64).layers(1).build();
        model.write(dir.resolve("x"));
        assertThatThrownBy(() -> model.write(dir.resolve("x"))).hasMessageContaining("already holds a checkpoint");
        assertThatThrownBy(() -> SyntheticCheckpoint.builder().hiddenSize(64).layers(1).shards(13).build())
                .hasMessageContaining("shards must be between 1 and the 12 tensors");
        assertThatThrownBy(() -> SyntheticCheckpoint.builder().hiddenSize(100).heads(3).build())
                .hasMessageContaining("must be a multiple of the 3 heads");
    }

    @Test
    void parsesAndFormatsByteSizes() {
        assertThat(ByteSize.parse("1048576")).isEqualTo(1 << 20);
        assertThat(ByteSize.parse("512MiB")).isEqualTo(512L << 20);
        assertThat(ByteSize.parse("1020k")).isEqualTo(1020 * 1024);
        assertThat(ByteSize.parse("2 GB")).isEqualTo(2_000_000_000L);
        assertThat(ByteSize.parse("3b")).isEqualTo(3);
        assertThatThrownBy(() -> ByteSize.parse("12 parsecs")).hasMessageContaining("not a byte size");
        assertThatThrownBy(() -> ByteSize.parse("99999999999T")).hasMessageContaining("does not fit in a long");
        assertThat(ByteSize.format(1536L << 20)).isEqualTo("1.50 GiB");
        assertThat(ByteSize.format(12)).isEqualTo("12 B");
    }
}
