package io.weightpub.sink.engine;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * The engine protocol's framing (docs/engine-protocol.md): a 4-byte big-endian length, then that
 * many bytes of UTF-8 JSON, one object per frame.
 */
final class EngineFrames {

    /** Engines send small requests; a larger frame is a confused or hostile peer, not something to buffer. */
    static final int MAX_INBOUND_BYTES = 1 << 20;

    static final ObjectMapper JSON = new ObjectMapper();

    private EngineFrames() {}

    /** The next message, or null at a clean end of stream. */
    static JsonNode read(SocketChannel channel) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(4);
        if (!fill(channel, header, true)) {
            return null;
        }
        int length = header.flip().getInt();
        if (length < 0 || length > MAX_INBOUND_BYTES) {
            throw new IOException("frame of " + Integer.toUnsignedLong(length) + " bytes, more than the "
                    + MAX_INBOUND_BYTES + " an engine request may take");
        }
        ByteBuffer body = ByteBuffer.allocate(length);
        fill(channel, body, false);
        JsonNode node = JSON.readTree(body.array());
        if (node == null || !node.isObject()) {
            throw new IOException("frame is not a JSON object");
        }
        return node;
    }

    static void write(SocketChannel channel, Object message) throws IOException {
        byte[] body = JSON.writeValueAsBytes(message);
        ByteBuffer frame = ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).flip();
        while (frame.hasRemaining()) {
            channel.write(frame);
        }
    }

    private static boolean fill(SocketChannel channel, ByteBuffer buffer, boolean endAllowed) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                if (endAllowed && buffer.position() == 0) {
                    return false;
                }
                throw new EOFException("stream ended inside a frame");
            }
        }
        return true;
    }
}
