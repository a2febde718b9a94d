package io.weightpub.publisher.cli;

import io.weightpub.publisher.ByteSize;
import io.weightpub.publisher.PublishProgress;
import io.weightpub.publisher.PublishProgressListener;
import io.weightpub.publisher.PublishResult;
import org.apache.flink.annotation.Internal;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * Publish progress for a person: on a terminal a one-line bar redrawn in place; in a log (CI, a
 * redirected demo) a plain line now and then, because every carriage-return frame of a bar ends
 * up in the file.
 */
@Internal
public final class ProgressBar implements PublishProgressListener {

    private static final int WIDTH = 30;
    private static final long TERMINAL_INTERVAL_MILLIS = 200;
    private static final long LOG_INTERVAL_MILLIS = 5_000;

    private final PrintWriter out;
    private final long intervalNanos;
    private final boolean inPlace;
    private long lastDrawNanos;
    private boolean drawn;

    /** A bar redrawn in place ({@code inPlace}) or a line per report, at most every {@code intervalMillis}. */
    public ProgressBar(PrintWriter out, long intervalMillis, boolean inPlace) {
        this.out = out;
        this.intervalNanos = intervalMillis * 1_000_000;
        this.inPlace = inPlace;
    }

    /** In place every 200 ms when this process runs on a terminal, else a line every 5 s. */
    public static ProgressBar forConsole(PrintWriter out) {
        boolean terminal = System.console() != null;
        return new ProgressBar(out, terminal ? TERMINAL_INTERVAL_MILLIS : LOG_INTERVAL_MILLIS, terminal);
    }

    @Override
    public void onProgress(PublishProgress p) {
        long now = System.nanoTime();
        boolean last = p.chunksSent() == p.totalChunks();
        if (drawn && !last && now - lastDrawNanos < intervalNanos) {
            return;
        }
        lastDrawNanos = now;
        drawn = true;
        int filled = (int) Math.round(p.fractionSent() * WIDTH);
        double seconds = Math.max(p.elapsed().toNanos(), 1) / 1e9;
        String line = String.format(Locale.ROOT, "[%s%s] %3.0f%% %s / %s  chunks %d/%d  %.1f MB/s",
                "#".repeat(filled), "-".repeat(WIDTH - filled), p.fractionSent() * 100,
                ByteSize.format(p.bytesSent()), ByteSize.format(p.totalBytes()), p.chunksSent(), p.totalChunks(),
                p.bytesAcked() / 1e6 / seconds);
        if (inPlace) {
            out.print("\r" + line + " ");
        } else {
            out.println(line);
        }
        out.flush();
    }

    @Override
    public void onComplete(PublishResult result) {
        if (drawn && inPlace) {
            out.println();
            out.flush();
        }
    }
}
