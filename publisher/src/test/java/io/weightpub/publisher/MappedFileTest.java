package io.weightpub.publisher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MappedFileTest {

    @TempDir
    Path dir;

    @Test
    void readsRegionsBeyondTwoGibibytesAndAcrossWindowEdges() throws IOException {
        // A sparse 5 GiB file: only the marked pages take disk space.
        Path path = dir.resolve("big.bin");
        long size = 5L << 30;
        long[] marks = {(2L << 30) - 3, (4L << 30) + 17, size - 5};
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(size);
            for (long mark : marks) {
                file.seek(mark);
                file.write(new byte[] {1, 2, 3, 4, 5});
            }
        }
        try (MappedFile mapped = MappedFile.open(path)) {
            assertThat(mapped.size()).isEqualTo(size);
            for (long mark : marks) {
                ByteBuffer dst = ByteBuffer.allocate(5);
                mapped.read(mark, dst);
                assertThat(dst.array()).as("bytes at %d", mark).containsExactly(1, 2, 3, 4, 5);
            }
            // a tensor region spanning three 1 GiB windows reads whole
            TensorSource tensor = TensorSource.ofFileRegion("big", DType.U8, new long[] {8}, mapped, (2L << 30) - 4);
            ByteBuffer dst = ByteBuffer.allocate(8);
            tensor.read(0, dst);
            assertThat(dst.array()).containsExactly(0, 1, 2, 3, 4, 5, 0, 0);
        }
    }

    @Test
    void readsAcrossManySmallWindows() throws IOException {
        byte[] bytes = new byte[1000];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i * 7);
        }
        Path path = Files.write(dir.resolve("small.bin"), bytes);
        try (MappedFile mapped = MappedFile.open(path, 64)) {
            ByteBuffer dst = ByteBuffer.allocate(900);
            mapped.read(50, dst);
            for (int i = 0; i < 900; i++) {
                assertThat(dst.get(i)).isEqualTo(bytes[50 + i]);
            }
        }
    }

    @Test
    void refusesReadsOutsideTheFileNamingIt() throws IOException {
        Path path = Files.write(dir.resolve("tiny.bin"), new byte[10]);
        try (MappedFile mapped = MappedFile.open(path)) {
            assertThatThrownBy(() -> mapped.read(8, ByteBuffer.allocate(4)))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining(path.toString())
                    .hasMessageContaining("outside the file (10 bytes)");
        }
    }

    @Test
    void refusesAFileRegionThatDoesNotFit() throws IOException {
        Path path = Files.write(dir.resolve("tiny.bin"), new byte[10]);
        try (MappedFile mapped = MappedFile.open(path)) {
            assertThatThrownBy(() -> TensorSource.ofFileRegion("w", DType.F32, new long[] {2}, mapped, 4))
                    .hasMessageContaining("tensor w: region [4, 12) is outside");
        }
    }
}
