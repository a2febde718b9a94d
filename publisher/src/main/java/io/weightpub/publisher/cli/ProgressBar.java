package io.weightpub.publisher.cli;

import io.weightpub.publisher.ByteSize;
import io.weightpub.publisher.PublishProgress;
import io.weightpub.publisher.PublishProgressListener;
import io.weightpub.publisher.PublishResult;

import java.io.PrintWriter;
import java.util.Locale;

/** A one-line text progress bar, redrawn in place at most every {@code intervalMillis}. */
public final class ProgressBar implements PublishProgressListener {

    private static final int WIDTH = 30;

    private final PrintWriter out;
    private final long intervalNanos;
    private long lastDrawNanos;
    private boolean drawn;

    public ProgressBar(PrintWriter out, long intervalMillis) {
        this.out = out;
        this.intervalNanos = intervalMillis * 1_000_000;
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
        out.print(String.format(Locale.ROOT, "\r[%s%s] %3.0f%% %s / %s  chunks %d/%d  %.1f MB/s ",
                "#".repeat(filled), "-".repeat(WIDTH - filled), p.fractionSent() * 100,
                ByteSize.format(p.bytesSent()), ByteSize.format(p.totalBytes()), p.chunksSent(), p.totalChunks(),
                p.bytesAcked() / 1e6 / seconds));
        out.flush();
    }

    @Override
    public void onComplete(PublishResult result) {
        if (drawn) {
            out.println();
            out.flush();
        }
    }
}
