package io.weightpub.publisher.testutils;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes safetensors files byte by byte, so tests can build valid and broken ones alike. */
public final class SafetensorsFiles {

    private SafetensorsFiles() {
    }

    /** {@code u64le} header length, the header as given, then the data section. */
    public static Path write(Path file, String headerJson, byte[] data) throws IOException {
        byte[] header = headerJson.getBytes(StandardCharsets.UTF_8);
        return write(file, header.length, header, data);
    }

    /** Like {@link #write(Path, String, byte[])} but with any declared header length. */
    public static Path write(Path file, long declaredHeaderLength, byte[] header, byte[] data) throws IOException {
        ByteBuffer out = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(declaredHeaderLength).put(header).put(data);
        Files.write(file, out.array());
        return file;
    }

    /** {@code n} bytes counting up from {@code first}, so any misplaced byte shows. */
    public static byte[] counting(int n, int first) {
        byte[] bytes = new byte[n];
        for (int i = 0; i < n; i++) {
            bytes[i] = (byte) (first + i);
        }
        return bytes;
    }
}
