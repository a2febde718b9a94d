package io.weightpub.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kafka's own performance tools ({@code kafka-tools}), each run in a fresh JVM exactly as
 * {@code kafka-consumer-perf-test.sh} / {@code kafka-producer-perf-test.sh} would, with their output
 * parsed. They are the ceilings the project is compared against.
 */
public final class KafkaPerfTools {

    static final String CONSUMER_PERFORMANCE = "org.apache.kafka.tools.ConsumerPerformance";
    static final String PRODUCER_PERFORMANCE = "org.apache.kafka.tools.ProducerPerformance";
    private static final List<String> TOOL_JVM = List.of("-Xmx1g", "-XX:+UseG1GC");

    /** ConsumerPerformance's summary: bytes consumed and the time spent fetching (join excluded). */
    public record ConsumerRun(double bytes, long records, double fetchMillis, double totalMillis) {

        /** Bytes per second over the fetch time, the consumer's data plane. */
        public double bytesPerSecond() {
            return bytes / (fetchMillis / 1000.0);
        }
    }

    /** ProducerPerformance's final summary. */
    public record ProducerRun(long records, double recordsPerSecond, double avgLatencyMs, double maxLatencyMs) {}

    private KafkaPerfTools() {}

    public static ConsumerRun consume(String bootstrap, String topic, long records, String group)
            throws IOException, InterruptedException {
        List<String> args = List.of("--bootstrap-server", bootstrap, "--topic", topic, "--num-records",
                String.valueOf(records), "--group", group, "--timeout", "60000");
        ChildJvm.Outcome out = ChildJvm.run(CONSUMER_PERFORMANCE, TOOL_JVM, args, 900, null);
        if (out.exitCode() != 0) {
            throw new IOException("ConsumerPerformance exited " + out.exitCode() + ":\n" + out.tail(30));
        }
        return parseConsumer(out.lines());
    }

    /**
     * Runs {@code n} ConsumerPerformance processes at once in one new consumer group over {@code topic}
     * ({@link ConsumerGroupRun} explains the timing). Each idles out after {@code idleTimeoutMs}
     * without records.
     */
    public static ConsumerGroupRun consumeGroup(String bootstrap, String topic, String group, int n,
            long idleTimeoutMs) throws IOException, InterruptedException {
        // no member may stop on a count (one that read everything would end before its idle timeout, and
        // its end less the timeout would precede its first record): every member idles out
        List<String> args = List.of("--bootstrap-server", bootstrap, "--topic", topic, "--num-records",
                String.valueOf(Long.MAX_VALUE), "--group", group, "--timeout", String.valueOf(idleTimeoutMs));
        List<ChildJvm.Running> running = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                running.add(ChildJvm.start(CONSUMER_PERFORMANCE, TOOL_JVM, args, null));
            }
            List<List<String>> outputs = new ArrayList<>();
            for (ChildJvm.Running r : running) {
                ChildJvm.Outcome out = r.await(900);
                if (out.exitCode() != 0) {
                    throw new IOException("ConsumerPerformance (one of " + n + ") exited " + out.exitCode() + ":\n"
                            + out.tail(30));
                }
                outputs.add(out.lines());
            }
            return ConsumerGroupRun.parse(outputs, idleTimeoutMs);
        } finally {
            running.forEach(ChildJvm.Running::close);
        }
    }

    /**
     * Runs ProducerPerformance with records of {@code recordSize} bytes and the producer settings
     * {@code producerProps} (those the publisher itself uses).
     */
    public static ProducerRun produce(String bootstrap, String topic, long records, int recordSize,
            Map<String, String> producerProps) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("--bootstrap-server", bootstrap, "--topic", topic,
                "--num-records", String.valueOf(records), "--record-size", String.valueOf(recordSize),
                "--throughput", "-1", "--reporting-interval", "600000"));
        if (!producerProps.isEmpty()) {
            args.add("--producer-props");
            producerProps.forEach((k, v) -> args.add(k + "=" + v));
        }
        ChildJvm.Outcome out = ChildJvm.run(PRODUCER_PERFORMANCE, TOOL_JVM, args, 900, null);
        if (out.exitCode() != 0) {
            throw new IOException("ProducerPerformance exited " + out.exitCode() + ":\n" + out.tail(30));
        }
        return parseProducer(out.lines());
    }

    /**
     * Parses ConsumerPerformance's header and data line ({@code start.time, end.time,
     * data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms,
     * ...}); its MB are 2^20 bytes.
     */
    static ConsumerRun parseConsumer(List<String> lines) throws IOException {
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).startsWith("start.time")) {
                continue;
            }
            List<String> header = Arrays.asList(lines.get(i).split(",\\s*"));
            for (int j = i + 1; j < lines.size(); j++) {
                String[] fields = lines.get(j).split(",\\s*");
                if (fields.length != header.size()) {
                    continue;
                }
                try {
                    double mb = Double.parseDouble(fields[header.indexOf("data.consumed.in.MB")]);
                    long msgs = Long.parseLong(fields[header.indexOf("data.consumed.in.nMsg")]);
                    double fetchMs = Double.parseDouble(fields[header.indexOf("fetch.time.ms")]);
                    double rebalanceMs = Double.parseDouble(fields[header.indexOf("rebalance.time.ms")]);
                    return new ConsumerRun(mb * 1024 * 1024, msgs, fetchMs, fetchMs + rebalanceMs);
                } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                    // a log line with as many commas: keep looking
                }
            }
        }
        throw new IOException("no ConsumerPerformance summary in its output:\n" + String.join("\n", lines));
    }

    private static final Pattern PRODUCER_TOTAL = Pattern.compile(
            "(\\d+) records sent, ([0-9.]+) records/sec \\(([0-9.]+) MB/sec\\), ([0-9.]+) ms avg latency, "
                    + "([0-9.]+) ms max latency");

    /** Parses ProducerPerformance's last summary line ({@code N records sent, R records/sec (M MB/sec), ...}). */
    static ProducerRun parseProducer(List<String> lines) throws IOException {
        for (int i = lines.size() - 1; i >= 0; i--) {
            Matcher m = PRODUCER_TOTAL.matcher(lines.get(i));
            if (m.find()) {
                return new ProducerRun(Long.parseLong(m.group(1)), Double.parseDouble(m.group(2)),
                        Double.parseDouble(m.group(4)), Double.parseDouble(m.group(5)));
            }
        }
        throw new IOException("no ProducerPerformance summary in its output:\n" + String.join("\n", lines));
    }
}
