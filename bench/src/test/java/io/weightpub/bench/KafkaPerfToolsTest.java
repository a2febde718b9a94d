package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class KafkaPerfToolsTest {

    @Test
    void consumerSummaryUsesFetchTimeAndBinaryMegabytes() throws IOException {
        KafkaPerfTools.ConsumerRun run = KafkaPerfTools.parseConsumer(List.of(
                "WARN some log line, with, commas",
                "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                        + "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec",
                "2026-11-23 16:00:58:123, 2026-11-23 16:01:00:123, 1024.0000, 512.0, 1028, 514.0, 400, 1600, 640.0, 642.5"));
        assertThat(run.bytes()).isEqualTo(1024.0 * 1024 * 1024);
        assertThat(run.records()).isEqualTo(1028);
        assertThat(run.fetchMillis()).isEqualTo(1600);
        assertThat(run.totalMillis()).isEqualTo(2000);
        assertThat(run.bytesPerSecond()).isCloseTo(1024.0 * 1024 * 1024 / 1.6, within(1.0));
    }

    @Test
    void producerSummaryIsTheLastTotalLine() throws IOException {
        KafkaPerfTools.ProducerRun run = KafkaPerfTools.parseProducer(List.of(
                "10 records sent, 5.0 records/sec (5.00 MB/sec), 30.0 ms avg latency, 50.0 ms max latency.",
                "64 records sent, 59.8 records/sec (59.60 MB/sec), 412.34 ms avg latency, 801.00 ms max latency, "
                        + "400 ms 50th, 780 ms 95th, 801 ms 99th, 801 ms 99.9th."));
        assertThat(run.records()).isEqualTo(64);
        assertThat(run.recordsPerSecond()).isEqualTo(59.8);
        assertThat(run.avgLatencyMs()).isEqualTo(412.34);
        assertThat(run.maxLatencyMs()).isEqualTo(801.0);
    }

    @Test
    void outputWithoutASummaryIsAnErrorShowingTheOutput() {
        assertThatThrownBy(() -> KafkaPerfTools.parseConsumer(List.of("Exception in thread main")))
                .isInstanceOf(IOException.class).hasMessageContaining("Exception in thread main");
        assertThatThrownBy(() -> KafkaPerfTools.parseProducer(List.of("nothing")))
                .isInstanceOf(IOException.class);
    }
}
