package io.weightpub.publisher;

import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A read-only file mapped into memory in windows of at most {@link #WINDOW_BYTES}, so files and
 * regions larger than 2 GiB (the limit of one {@link MappedByteBuffer}) can be read. Windows are
 * mapped on first use; bytes are paged in by the OS, never copied onto the Java heap as a whole.
 */
@PublicEvolving
public final class MappedFile implements AutoCloseable {

    /** 1 GiB: well under the 2 GiB limit of a single mapping. */
    public static final long WINDOW_BYTES = 1L << 30;

    private final Path path;
    private final FileChannel channel;
    private final long size;
    private final long windowBytes;
    private final MappedByteBuffer[] windows;
    private volatile boolean closed;

    private MappedFile(Path path, FileChannel channel, long windowBytes) throws IOException {
        this.path = path;
        this.channel = channel;
        this.size = channel.size();
        this.windowBytes = windowBytes;
        this.windows = new MappedByteBuffer[(int) ((size + windowBytes - 1) / windowBytes)];
    }

    public static MappedFile open(Path path) throws IOException {
        return open(path, WINDOW_BYTES);
    }

    /** Opens with a smaller window, so tests can cross window edges with small files. */
    static MappedFile open(Path path, long windowBytes) throws IOException {
        if (windowBytes <= 0 || windowBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("window of " + windowBytes + " bytes, expected 1.." + Integer.MAX_VALUE);
        }
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new MappedFile(path, channel, windowBytes);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public long size() {
        return size;
    }

    /**
     * Copies the file's bytes {@code [position, position + dst.remaining())} into {@code dst},
     * crossing window edges as needed.
     */
    public void read(long position, ByteBuffer dst) throws IOException {
        if (position < 0 || position + dst.remaining() > size) {
            throw new IOException(path + ": read of " + dst.remaining() + " bytes at " + position
                    + " is outside the file (" + size + " bytes)");
        }
        long pos = position;
        while (dst.hasRemaining()) {
            int index = (int) (pos / windowBytes);
            int inWindow = (int) (pos - index * windowBytes);
            ByteBuffer window = window(index).duplicate();
            int n = Math.min(dst.remaining(), window.capacity() - inWindow);
            window.position(inWindow).limit(inWindow + n);
            dst.put(window);
            pos += n;
        }
    }

    private MappedByteBuffer window(int index) throws IOException {
        if (closed) {
            throw new IOException(path + " is closed");
        }
        synchronized (windows) {
            MappedByteBuffer window = windows[index];
            if (window == null) {
                long start = index * windowBytes;
                window = channel.map(FileChannel.MapMode.READ_ONLY, start, Math.min(windowBytes, size - start));
                windows[index] = window;
            }
            return window;
        }
    }

    /** Closes the file; the mappings are released by the garbage collector. */
    @Override
    public void close() throws IOException {
        closed = true;
        channel.close();
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
