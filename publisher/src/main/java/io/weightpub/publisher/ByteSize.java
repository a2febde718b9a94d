package io.weightpub.publisher;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte counts as people write them: {@code 1048576}, {@code 512MiB}, {@code 1020k}, {@code 2 GB}. */
@PublicEvolving
public final class ByteSize {

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmgt]?)(i?b?)", Pattern.CASE_INSENSITIVE);

    private ByteSize() {
    }

    /**
     * Parses a byte count: a number with an optional unit. {@code k}, {@code m}, {@code g},
     * {@code t} and their {@code KiB}-style forms are binary (1024-based); {@code KB}, {@code MB},
     * {@code GB}, {@code TB} are decimal.
     */
    public static long parse(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a byte size (examples: 1048576, 512MiB, 1020k, 2GB)");
        }
        String unit = m.group(2).toLowerCase(Locale.ROOT);
        String suffix = m.group(3).toLowerCase(Locale.ROOT);
        if (unit.isEmpty() && !suffix.isEmpty() && !suffix.equals("b")) {
            throw new IllegalArgumentException("'" + text + "' has no unit before '" + m.group(3) + "'");
        }
        boolean decimal = suffix.equals("b");
        int exponent = "kmgt".indexOf(unit.isEmpty() ? "?" : unit) + 1;
        long base = decimal ? 1000 : 1024;
        try {
            long value = Long.parseLong(m.group(1));
            for (int i = 0; i < exponent; i++) {
                value = Math.multiplyExact(value, base);
            }
            return value;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("byte size '" + text + "' does not fit in a long");
        }
    }

    /** A short human form with binary units, e.g. {@code 1.50 GiB}. */
    public static String format(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = 0;
        while (Math.abs(value) >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.2f %s", value, units[unit]);
    }
}
