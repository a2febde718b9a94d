package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.sink.CommitMode;
import io.weightpub.sink.SinkOptions;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.WeightStore;
import io.weightpub.testutils.TestVersion;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * A publish the worker's memory budget refuses is reported failed by the writer, never thrown out of
 * {@code write()} (that would restart the task forever); the next publish that fits still goes active.
 */
class WriterMemoryBudgetTest {

    private static final String MODEL = "org/budgeted";
    private static final String SINK = "budget";
    private static final int CHUNK = 64 * 1024;

    @AfterEach
    void release() {
        WeightSink.release(SINK);
    }

    @Test
    void aPublishOverTheModelBudgetIsReportedFailedAndTheNextOneThatFitsGoesActive() {
        WeightSinkWriter writer = writer();
        WeightStore store = WeightSink.store(SINK, 0).orElseThrow();
        TestVersion tooBig = TestVersion.of(MODEL, 1, 4, 1024 * 1024); // 4 MiB over a 1 MiB model budget

        assertThatCode(() -> tooBig.events(CHUNK).forEach(e -> writer.write(e, null))).doesNotThrowAnyException();

        assertThat(store.status(MODEL).active()).isEmpty();
        assertThat(store.status(MODEL).lastError()).hasValueSatisfying(error -> assertThat(error)
                .contains("version 1", tooBig.publishId(), "budget"));
        assertThat(store.status(MODEL).staged()).isEmpty();

        TestVersion fits = TestVersion.of(MODEL, 2, 2, 128 * 1024); // 256 KiB
        fits.events(CHUNK).forEach(e -> writer.write(e, null));

        assertThat(store.status(MODEL).active().map(VersionInfo::version)).hasValue(2L);
        assertThat(store.status(MODEL).active().map(VersionInfo::publishId)).hasValue(fits.publishId());
    }

    @Test
    void aPublishOverBudgetIsTriedOnceItsLaterChunksAreSkippedAndItsCommitFailsWithTheReason() {
        WeightSinkWriter writer = writer();
        WeightStore store = WeightSink.store(SINK, 0).orElseThrow();
        TestVersion tooBig = TestVersion.of(MODEL, 1, 4, 1024 * 1024);
        List<WeightEvent> events = tooBig.events(CHUNK);

        events.subList(0, events.size() - 1).forEach(e -> writer.write(e, null));
        String staging = store.status(MODEL).lastError().orElseThrow();
        writer.write(events.get(events.size() - 1), null); // the commit

        assertThat(staging).contains(tooBig.publishId(), "budget");
        assertThat(store.status(MODEL).lastError()).hasValueSatisfying(error -> assertThat(error)
                .contains("version 1 cannot commit on worker 0", "budget"));
        assertThat(store.memory().slotBytes()).isZero();
    }

    private static WeightSinkWriter writer() {
        Configuration config = new Configuration();
        config.set(SinkOptions.NAME, SINK);
        config.set(SinkOptions.MEMORY_MAX_PER_MODEL, MemorySize.parse("1m"));
        WeightSink sink = WeightSink.fromConfig(config).backend(StoreBackend.HOST)
                .commitMode(CommitMode.IMMEDIATE).build();
        return new WeightSinkWriter(sink.workerSettings(), 0, "job", OptionalLong.empty(), List.of(),
                UnregisteredMetricsGroup.createSinkWriterMetricGroup());
    }
}
