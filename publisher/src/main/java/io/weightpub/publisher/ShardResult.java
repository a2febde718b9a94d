package io.weightpub.publisher;

import org.apache.flink.annotation.PublicEvolving;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What one trainer rank committed of a shared publish: its buckets and their SHA-256 digests, which
 * the rank that sends the manifest needs. Gather every rank's result (its {@link #encode()} text
 * travels through any barrier, e.g. torch.distributed's {@code all_gather_object}) and pass them to
 * {@link WeightPublisher#publishManifest}.
 */
@PublicEvolving
public final class ShardResult {

    private final String publishId;
    private final int rank;
    private final int fromBucket;
    private final List<byte[]> sha256;
    private final long chunks;
    private final long bytes;
    private final Duration elapsed;

    public ShardResult(String publishId, int rank, int fromBucket, List<byte[]> sha256, long chunks, long bytes,
            Duration elapsed) {
        this.publishId = Objects.requireNonNull(publishId, "publishId");
        this.rank = rank;
        this.fromBucket = fromBucket;
        List<byte[]> copies = new ArrayList<>(sha256.size());
        for (byte[] digest : sha256) {
            if (digest.length != 32) {
                throw new IllegalArgumentException("rank " + rank + " of publish " + publishId
                        + ": a SHA-256 has 32 bytes, got " + digest.length);
            }
            copies.add(digest.clone());
        }
        this.sha256 = List.copyOf(copies);
        this.chunks = chunks;
        this.bytes = bytes;
        this.elapsed = Objects.requireNonNull(elapsed, "elapsed");
    }

    public String publishId() {
        return publishId;
    }

    public int rank() {
        return rank;
    }

    public int fromBucket() {
        return fromBucket;
    }

    /** One past the last bucket of this shard. */
    public int toBucket() {
        return fromBucket + sha256.size();
    }

    /** The SHA-256 of bucket {@code fromBucket() + i}. */
    public byte[] sha256(int i) {
        return sha256.get(i).clone();
    }

    public long chunks() {
        return chunks;
    }

    public long bytes() {
        return bytes;
    }

    public Duration elapsed() {
        return elapsed;
    }

    /** A one-line text form, {@code key=value} fields separated by spaces, that {@link #parse} reads back. */
    public String encode() {
        StringBuilder digests = new StringBuilder();
        for (byte[] d : sha256) {
            digests.append(digests.isEmpty() ? "" : ",").append(HexFormat.of().formatHex(d));
        }
        return "publish=" + publishId + " rank=" + rank + " from=" + fromBucket + " sha256=" + digests
                + " chunks=" + chunks + " bytes=" + bytes + " elapsed-ms=" + elapsed.toMillis();
    }

    public static ShardResult parse(String text) {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String field : text.trim().split(" ")) {
            int eq = field.indexOf('=');
            if (eq < 1) {
                throw new IllegalArgumentException("shard result field '" + field + "' is not key=value in: " + text);
            }
            fields.put(field.substring(0, eq), field.substring(eq + 1));
        }
        try {
            List<byte[]> digests = new ArrayList<>();
            String hex = require(fields, "sha256", text);
            if (!hex.isEmpty()) {
                for (String d : hex.split(",")) {
                    digests.add(HexFormat.of().parseHex(d));
                }
            }
            return new ShardResult(require(fields, "publish", text), Integer.parseInt(require(fields, "rank", text)),
                    Integer.parseInt(require(fields, "from", text)), digests,
                    Long.parseLong(require(fields, "chunks", text)), Long.parseLong(require(fields, "bytes", text)),
                    Duration.ofMillis(Long.parseLong(require(fields, "elapsed-ms", text))));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("shard result has a malformed number: " + text, e);
        }
    }

    private static String require(Map<String, String> fields, String key, String text) {
        String value = fields.get(key);
        if (value == null) {
            throw new IllegalArgumentException("shard result lacks '" + key + "': " + text);
        }
        return value;
    }

    @Override
    public String toString() {
        return encode();
    }
}
