package io.weightpub.publisher.internal;

import io.weightpub.publisher.ByteSize;
import org.apache.flink.annotation.Internal;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes a version's transaction timeout. A transactional version is one Kafka transaction, and the
 * coordinator aborts a transaction that stays open longer than the producer's
 * {@code transaction.timeout.ms} (Kafka's default, 60 s, is exceeded by a few GiB over an ordinary
 * link). The timeout must cover the whole transfer at the slowest throughput the user expects, but
 * not much more: a trainer that dies mid-publish leaves its transaction open, and every
 * {@code read_committed} reader of those partitions waits until the timeout aborts it (or the
 * restarted trainer's {@code initTransactions} does).
 */
@Internal
public final class TransactionTimeouts {

    /** Kafka's default {@code transaction.timeout.ms}: small versions keep it. */
    public static final Duration KAFKA_DEFAULT = Duration.ofSeconds(60);
    /** Kafka's default {@code transaction.max.timeout.ms} of the brokers. */
    public static final Duration BROKER_DEFAULT_MAX = Duration.ofMinutes(15);
    /** Room for connecting, the commit's markers and a slow start on top of the transfer time. */
    static final Duration MARGIN = Duration.ofSeconds(30);

    private static final Pattern DURATION =
            Pattern.compile("(\\d+)\\s*(ms|s|sec|min|m|h)?", Pattern.CASE_INSENSITIVE);

    private TransactionTimeouts() {
    }

    /**
     * The transaction timeout a version of {@code versionBytes} needs when the publisher sends at
     * least {@code minBytesPerSecond}: the transfer time plus {@link #MARGIN}, rounded up to a
     * whole second, never below Kafka's default.
     */
    public static Duration needed(long versionBytes, long minBytesPerSecond) {
        if (minBytesPerSecond <= 0) {
            throw new IllegalArgumentException(
                    "publisher.transaction.min-throughput must be positive, was " + minBytesPerSecond);
        }
        long transferSeconds = versionBytes / minBytesPerSecond + (versionBytes % minBytesPerSecond == 0 ? 0 : 1);
        Duration needed = Duration.ofSeconds(transferSeconds).plus(MARGIN);
        return needed.compareTo(KAFKA_DEFAULT) < 0 ? KAFKA_DEFAULT : needed;
    }

    /**
     * Why a version cannot be one transaction (its timeout would exceed what the brokers allow),
     * or {@code null} when it can.
     */
    public static String tooLargeReason(long versionBytes, long minBytesPerSecond, Duration brokerMax) {
        Duration needed = needed(versionBytes, minBytesPerSecond);
        if (needed.compareTo(brokerMax) <= 0) {
            return null;
        }
        return "a version of " + ByteSize.format(versionBytes) + " (" + versionBytes + " bytes) needs a transaction"
                + " timeout of " + needed.toSeconds() + " s at the expected minimum throughput of "
                + ByteSize.format(minBytesPerSecond) + "/s, but the brokers allow at most " + brokerMax.toSeconds()
                + " s (transaction.max.timeout.ms); nothing was sent. Either publish non-transactionally"
                + " (publisher.transactional=false: the job applies a version only once its manifest and every"
                + " chunk arrived), raise transaction.max.timeout.ms on the brokers, or raise"
                + " publisher.transaction.min-throughput if the link to Kafka reliably sustains more";
    }

    /**
     * What to add to the error of a transactional publish that failed after running {@code ran}:
     * that the coordinator aborted it for its timeout (Kafka says only that the producer's epoch
     * is stale) and what to change; empty when it failed within its timeout.
     */
    public static String timedOutHint(Duration ran, Duration timeout, boolean explicitTimeout) {
        if (ran.compareTo(timeout) < 0) {
            return "";
        }
        return " (the transaction ran " + ran.toSeconds() + " s, longer than its transaction.timeout.ms of "
                + timeout.toSeconds() + " s, so the coordinator aborted it; "
                + (explicitTimeout
                        ? "raise publisher.producer.transaction.timeout.ms, or leave it unset so that the publisher"
                                + " sizes it from the version's bytes)"
                        : "lower publisher.transaction.min-throughput to the throughput actually reached)");
    }

    /** A duration as people write it: {@code 900000} (milliseconds), {@code 250ms}, {@code 900 s}, {@code 15min}, {@code 1h}. */
    public static Duration parseDuration(String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration (examples: 900000, 900s, 15min)");
        }
        long value = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "ms" : m.group(2).toLowerCase(Locale.ROOT);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(value);
            case "s", "sec" -> Duration.ofSeconds(value);
            case "m", "min" -> Duration.ofMinutes(value);
            default -> Duration.ofHours(value);
        };
    }
}
