package io.weightpub.job.testutils;

import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Avro binary written by hand, to claim what no encoder would write. */
final class AvroWriter {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);

    AvroWriter(byte[] header) {
        out.write(header, 0, header.length);
    }

    AvroWriter varint(long value) {
        try {
            encoder.writeLong(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    AvroWriter string(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return varint(bytes.length).raw(bytes);
    }

    AvroWriter raw(byte[] bytes) {
        out.write(bytes, 0, bytes.length);
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
