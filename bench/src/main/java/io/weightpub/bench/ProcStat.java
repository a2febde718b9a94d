package io.weightpub.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * CPU time of a process from {@code /proc/<pid>/stat}: user plus system time (fields 14 and 15) in
 * clock ticks. Cores used over a window = CPU seconds spent in it / wall seconds.
 */
public final class ProcStat {

    /** USER_HZ: 100 on every Linux the project runs on (x86_64, aarch64). */
    static final long TICKS_PER_SECOND = 100;

    private ProcStat() {}

    /** utime + stime in ticks, from the text of a stat file. */
    static long cpuTicks(String stat) {
        // the command name (field 2) is in parentheses and may hold spaces or parentheses itself
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            throw new IllegalArgumentException("not a /proc/<pid>/stat line: " + stat);
        }
        String[] f = stat.substring(close + 2).trim().split("\\s+");
        // f[0] is field 3 (state), so field 14 (utime) is f[11] and field 15 (stime) is f[12]
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /** CPU milliseconds a process has used so far; empty where /proc is not readable (not Linux, gone). */
    public static OptionalLong cpuMillis(long pid) {
        try {
            String text = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
            return OptionalLong.of(cpuTicks(text) * 1000 / TICKS_PER_SECOND);
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /** Cores used: CPU milliseconds over wall milliseconds. */
    static double cores(long cpuMillis, double wallMillis) {
        return wallMillis > 0 ? cpuMillis / wallMillis : Double.NaN;
    }
}
