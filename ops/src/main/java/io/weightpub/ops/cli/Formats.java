package io.weightpub.ops.cli;

import io.weightpub.ops.SkippedRecord;

import java.io.PrintWriter;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/** Cell formats shared by the tables. */
final class Formats {

    private Formats() {
    }

    static String time(long epochMs) {
        return epochMs < 0 ? "-" : Instant.ofEpochMilli(epochMs).truncatedTo(ChronoUnit.SECONDS).toString();
    }

    static String clip(String text, int max) {
        if (text.isEmpty()) {
            return "-";
        }
        String oneLine = text.replace('\n', ' ');
        return oneLine.length() <= max ? oneLine : oneLine.substring(0, max - 3) + "...";
    }

    /** Says on stderr which records a reader could not use. */
    static void warnSkipped(PrintWriter err, List<SkippedRecord> skipped) {
        for (SkippedRecord record : skipped) {
            err.println("warning: skipped " + record);
        }
        err.flush();
    }
}
