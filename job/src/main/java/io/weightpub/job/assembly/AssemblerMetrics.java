package io.weightpub.job.assembly;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

import java.util.Set;

/** The version coordinator's metrics, registered in its operator metric group (names kept from the assembler). */
final class AssemblerMetrics {
    final Counter chunksIn;
    final Counter bytesIn;
    final Counter duplicateChunks;
    final Counter deadLetters;
    final Counter versionsCompleted;
    final Counter versionsFailed;
    final Counter versionsAborted;
    final Counter versionsRejected;
    final Counter rollbacks;
    final Histogram versionLatencyMs;

    AssemblerMetrics(MetricGroup group, Set<String> inFlight) {
        chunksIn = group.counter("chunksIn");
        bytesIn = group.counter("bytesIn");
        duplicateChunks = group.counter("duplicatesDropped");
        deadLetters = group.counter("deadLettered");
        versionsCompleted = group.counter("versionsCompleted");
        versionsFailed = group.counter("versionsFailed");
        versionsAborted = group.counter("versionsAborted");
        versionsRejected = group.counter("versionsRejected");
        rollbacks = group.counter("rollbacks");
        versionLatencyMs = group.histogram("versionLatencyMs", new DescriptiveStatisticsHistogram(1000));
        group.gauge("inFlightPublishes", inFlight::size);
    }
}
