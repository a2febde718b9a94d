package io.weightpub.publisher.internal;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TransactionTimeoutsTest {

    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;

    @Test
    void aSmallVersionKeepsKafkasDefaultTimeout() {
        assertThat(TransactionTimeouts.needed(0, 32 * MIB)).isEqualTo(Duration.ofSeconds(60));
        assertThat(TransactionTimeouts.needed(100 * MIB, 32 * MIB)).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void aLargeVersionGetsItsTransferTimeAtTheMinimumThroughputPlusAMargin() {
        // 4 GiB at 32 MiB/s is 128 s of transfer, plus 30 s for the commit and a slow start.
        assertThat(TransactionTimeouts.needed(4 * GIB, 32 * MIB)).isEqualTo(Duration.ofSeconds(158));
        // rounded up to the next whole second
        assertThat(TransactionTimeouts.needed(4 * GIB + 1, 32 * MIB)).isEqualTo(Duration.ofSeconds(159));
        assertThat(TransactionTimeouts.needed(1L << 40, 1)).isEqualTo(Duration.ofSeconds((1L << 40) + 30));
    }

    @Test
    void rejectsAThroughputThatIsNotPositive() {
        assertThatThrownBy(() -> TransactionTimeouts.needed(1, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("publisher.transaction.min-throughput must be positive, was 0");
    }

    @Test
    void aVersionThatFitsUnderTheBrokersMaximumIsAccepted() {
        assertThat(TransactionTimeouts.tooLargeReason(4 * GIB, 32 * MIB, Duration.ofMinutes(15))).isNull();
        assertThat(TransactionTimeouts.tooLargeReason(870 * 32 * MIB, 32 * MIB, Duration.ofMinutes(15))).isNull();
    }

    @Test
    void aVersionThatCannotFitIsExplainedWithItsSizeTheTimeoutAndTheWaysOut() {
        String reason = TransactionTimeouts.tooLargeReason(40 * GIB, 32 * MIB, Duration.ofMinutes(15));
        assertThat(reason)
                .contains("40.00 GiB (42949672960 bytes)")
                .contains("needs a transaction timeout of 1310 s")
                .contains("32.00 MiB/s")
                .contains("900 s")
                .contains("transaction.max.timeout.ms")
                .contains("publisher.transaction.min-throughput")
                .contains("publisher.transactional=false");
    }

    @Test
    void aPublishThatOutlivedItsTimeoutIsExplainedAndOneThatFailedEarlierIsNot() {
        assertThat(TransactionTimeouts.timedOutHint(Duration.ofSeconds(59), Duration.ofSeconds(60), false)).isEmpty();
        assertThat(TransactionTimeouts.timedOutHint(Duration.ofSeconds(69), Duration.ofSeconds(60), false))
                .contains("ran 69 s, longer than its transaction.timeout.ms of 60 s")
                .contains("lower publisher.transaction.min-throughput");
        assertThat(TransactionTimeouts.timedOutHint(Duration.ofSeconds(69), Duration.ofSeconds(60), true))
                .contains("raise publisher.producer.transaction.timeout.ms");
    }

    @Test
    void parsesDurationsAsPeopleWriteThem() {
        assertThat(TransactionTimeouts.parseDuration("900000")).isEqualTo(Duration.ofMinutes(15));
        assertThat(TransactionTimeouts.parseDuration("900 s")).isEqualTo(Duration.ofMinutes(15));
        assertThat(TransactionTimeouts.parseDuration("15min")).isEqualTo(Duration.ofMinutes(15));
        assertThat(TransactionTimeouts.parseDuration("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(TransactionTimeouts.parseDuration("1h")).isEqualTo(Duration.ofHours(1));
        assertThatThrownBy(() -> TransactionTimeouts.parseDuration("soon"))
                .hasMessageContaining("'soon' is not a duration");
    }
}
