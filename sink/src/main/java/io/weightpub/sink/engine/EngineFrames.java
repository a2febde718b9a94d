package io.weightpub.sink.engine;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The engine protocol's framing (docs/engine-protocol.md): a 4-byte big-endian length, then that
 * many bytes of UTF-8 JSON, one object per frame.
 */
final class EngineFrames {

    /** Engines send small requests; a larger frame is a confused or hostile peer, not something to buffer. */
    static final int MAX_INBOUND_BYTES = 1 << 20;

    private EngineFrames() {}

    /** The next message, or null at a clean end of stream. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> read(SocketChannel channel) throws IOException {
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
        Object node;
        try {
            node = Json.parse(new String(body.array(), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IOException("frame is not JSON: " + e.getMessage(), e);
        }
        if (!(node instanceof Map)) {
            throw new IOException("frame is not a JSON object");
        }
        return (Map<String, Object>) node;
    }

    static void write(SocketChannel channel, Object message) throws IOException {
        byte[] body = Json.write(message).getBytes(StandardCharsets.UTF_8);
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
