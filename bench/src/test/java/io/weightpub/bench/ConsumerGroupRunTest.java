package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ConsumerGroupRunTest {

    private static final String HEADER = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, "
            + "nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";

    private static List<String> member(String start, String end, String mb, long msgs, long rebalanceMs) {
        return List.of("[2026-12-01] WARN a log line, with, commas", HEADER,
                start + ", " + end + ", " + mb + ", 1.0, " + msgs + ", 1.0, " + rebalanceMs + ", 1000, 1.0, 1.0",
                "WARNING: Exiting before consuming the expected number of messages: timeout (2000 ms) exceeded.");
    }

    @Test
    void theGroupIsTimedFromTheFirstMembersFirstFetchToTheLastMembersLastRecord() throws IOException {
        ConsumerGroupRun run = ConsumerGroupRun.parse(List.of(
                // fetches from 10:00:00.500 (start + 500 ms join), last record at 10:00:04.000 (end - 2 s idle)
                member("2026-12-01 10:00:00:000", "2026-12-01 10:00:06:000", "1024.0", 1000, 500),
                // starts later, ends later: last record at 10:00:05.500
                member("2026-12-01 10:00:00:800", "2026-12-01 10:00:07:500", "2048.0", 2000, 300)), 2000);

        assertThat(run.bytes()).isEqualTo(3072.0 * 1024 * 1024);
        assertThat(run.records()).isEqualTo(3000);
        assertThat(run.windowMillis()).isEqualTo(5000);
        assertThat(run.bytesPerSecond()).isCloseTo(3072.0 * 1024 * 1024 / 5.0, within(1.0));
    }

    @Test
    void aMemberLeftWithoutPartitionsDoesNotStretchTheWindow() throws IOException {
        ConsumerGroupRun run = ConsumerGroupRun.parse(List.of(
                member("2026-12-01 10:00:00:000", "2026-12-01 10:00:03:000", "100.0", 100, 0),
                member("2026-12-01 09:59:59:000", "2026-12-01 10:00:09:000", "0.0", 0, 0)), 1000);

        assertThat(run.windowMillis()).isEqualTo(2000);
        assertThat(run.records()).isEqualTo(100);
    }

    @Test
    void aMemberWithoutASummaryIsAnErrorShowingItsOutput() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ConsumerGroupRun.parse(
                        List.of(List.of("Exception in thread main: boom")), 1000))
                .isInstanceOf(IOException.class).hasMessageContaining("boom");
    }
}
