package io.weightpub.bench;

import java.io.IOException;
import java.text.ParseException;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * N {@code ConsumerPerformance} processes of one consumer group reading one topic, as one ceiling:
 * their bytes summed over the group's window, from the first process's first fetch to the last
 * process's last record.
 *
 * <p>A member of a group cannot know how many records its partitions hold, so each runs until no
 * record came for {@code --timeout} ms; its last record is then its end time less that timeout
 * (ConsumerPerformance polls every 100 ms, so the window is at most ~100 ms long). A member's first
 * fetch is its start time plus its group-join time.
 */
public record ConsumerGroupRun(List<Member> members, long idleTimeoutMs) {

    /** One process's summary line; times in epoch milliseconds of this host's clock. */
    public record Member(long startMs, long endMs, double bytes, long records, double rebalanceMs) {

        long firstFetchMs() {
            return startMs + Math.round(rebalanceMs);
        }

        long lastRecordMs(long idleTimeoutMs) {
            return endMs - idleTimeoutMs;
        }
    }

    public ConsumerGroupRun {
        members = List.copyOf(members);
    }

    /** Members that read anything (a member left without partitions reads nothing and only idles). */
    List<Member> readers() {
        return members.stream().filter(m -> m.records() > 0).toList();
    }

    public double bytes() {
        return members.stream().mapToDouble(Member::bytes).sum();
    }

    public long records() {
        return members.stream().mapToLong(Member::records).sum();
    }

    /** First fetch of any member to the last record of any member. */
    public double windowMillis() {
        List<Member> readers = readers();
        if (readers.isEmpty()) {
            return Double.NaN;
        }
        long first = readers.stream().mapToLong(Member::firstFetchMs).min().orElseThrow();
        long last = readers.stream().mapToLong(m -> m.lastRecordMs(idleTimeoutMs)).max().orElseThrow();
        return Math.max(1, last - first);
    }

    public double bytesPerSecond() {
        return bytes() / (windowMillis() / 1000.0);
    }

    /** Parses each member's output (ConsumerPerformance's header and data line, default date format). */
    static ConsumerGroupRun parse(List<List<String>> outputs, long idleTimeoutMs) throws IOException {
        List<Member> members = new ArrayList<>();
        for (List<String> lines : outputs) {
            members.add(parseMember(lines));
        }
        return new ConsumerGroupRun(members, idleTimeoutMs);
    }

    static Member parseMember(List<String> lines) throws IOException {
        SimpleDateFormat format = new SimpleDateFormat("yyyy-MM-dd HH:mm:ss:SSS");
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).startsWith("start.time")) {
                continue;
            }
            List<String> header = Arrays.asList(lines.get(i).split(",\\s*"));
            for (int j = i + 1; j < lines.size(); j++) {
                String[] f = lines.get(j).split(",\\s*");
                if (f.length != header.size()) {
                    continue;
                }
                try {
                    return new Member(format.parse(f[header.indexOf("start.time")]).getTime(),
                            format.parse(f[header.indexOf("end.time")]).getTime(),
                            Double.parseDouble(f[header.indexOf("data.consumed.in.MB")]) * 1024 * 1024,
                            Long.parseLong(f[header.indexOf("data.consumed.in.nMsg")]),
                            Double.parseDouble(f[header.indexOf("rebalance.time.ms")]));
                } catch (ParseException | NumberFormatException | ArrayIndexOutOfBoundsException e) {
                    // a log line with as many commas: keep looking
                }
            }
        }
        throw new IOException("no ConsumerPerformance summary in its output:\n" + String.join("\n", lines));
    }
}
