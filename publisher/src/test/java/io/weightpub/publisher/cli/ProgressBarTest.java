package io.weightpub.publisher.cli;

import io.weightpub.publisher.PublishProgress;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class ProgressBarTest {

    private static PublishProgress progress(long chunksSent) {
        return new PublishProgress("m", 1, "p", chunksSent << 20, chunksSent << 20, 100L << 20, chunksSent, 100,
                Duration.ofSeconds(1));
    }

    @Test
    void inALogEachReportIsOnePlainLineAndFramesInBetweenAreSkipped() {
        StringWriter text = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(text), 60_000, false);
        for (long chunk = 1; chunk <= 100; chunk++) {
            bar.onProgress(progress(chunk));
        }
        bar.onComplete(null);
        String[] lines = text.toString().split("\n");
        assertThat(text.toString()).doesNotContain("\r");
        // the first report, then nothing until the last one (the interval is a minute)
        assertThat(lines).hasSize(2);
        assertThat(lines[0]).contains("chunks 1/100");
        assertThat(lines[1]).contains("100%").contains("chunks 100/100");
    }

    @Test
    void onATerminalTheBarIsRedrawnInPlaceAndEndsWithANewLine() {
        StringWriter text = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(text), 0, true);
        bar.onProgress(progress(50));
        bar.onProgress(progress(100));
        bar.onComplete(null);
        assertThat(text.toString()).startsWith("\r[").contains("\r[##############################] 100%")
                .endsWith(System.lineSeparator()).doesNotContain("\n[");
    }
}
