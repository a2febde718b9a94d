package io.weightpub.publisher;

import org.apache.flink.annotation.PublicEvolving;

import java.time.Duration;
import java.util.List;

/**
 * Every setting of the publisher: its key (for {@link WeightPublisherBuilder#configure}), its
 * default and what it does. Flink's {@code ConfigOption} is not used because a trainer runs the
 * publisher without Flink on its classpath; the keys follow the same style.
 */
@PublicEvolving
public final class PublisherOptions {

    /** One setting: key, default ({@code null} when there is none) and description. */
    public record Option<T>(String key, T defaultValue, String description) {
    }

    public static final Option<String> BOOTSTRAP_SERVERS = new Option<>(
            "publisher.bootstrap-servers", null,
            "Kafka bootstrap servers, host:port[,host:port...]. Required.");

    public static final Option<String> TOPIC_PREFIX = new Option<>(
            "publisher.topic-prefix", "weightpub",
            "Prefix of the topics: chunks go to <prefix>.chunks, manifests to <prefix>.manifests.");

    public static final Option<Long> BUCKET_SIZE = new Option<>(
            "publisher.bucket-size", BucketPlanner.DEFAULT_BUCKET_SIZE,
            "Largest flattened bucket in bytes (a multiple of 8); a larger tensor gets a bucket of its own.");

    public static final Option<Integer> CHUNK_SIZE = new Option<>(
            "publisher.chunk-size", PublishEncoder.DEFAULT_CHUNK_SIZE,
            "Largest payload of one Kafka record in bytes (1..64 MiB). The default, 1020 KiB, keeps a record"
                    + " under Kafka's default 1 MiB limits; raise the topic's max.message.bytes with it.");

    public static final Option<Boolean> TRANSACTIONAL = new Option<>(
            "publisher.transactional", false,
            "Publish in Kafka transactions (one per producer's share, committed once every share is acknowledged,"
                    + " then one for the manifest), so read_committed readers never see a partial publish.");

    public static final Option<String> TRANSACTIONAL_ID = new Option<>(
            "publisher.transactional-id", null,
            "The producer's transactional.id; required when transactional. Keep it stable per trainer so a"
                    + " restarted trainer fences its predecessor.");

    public static final Option<Integer> PRODUCERS = new Option<>(
            "publisher.producers", 4,
            "Producers that send one publish in parallel, each on its own thread with its own share of the"
                    + " buckets (so at most one per bucket is busy; buckets are never split). Transactional, producer"
                    + " 0 has the transactional id <id>, producer k > 0 <id>-<k>; each commits its share once every"
                    + " share is acknowledged; the manifest follows in a transaction of its own. Keep it stable per"
                    + " trainer so a restart fences all of them. See docs/publisher.md for the measurements behind"
                    + " the default.");

    public static final Option<Long> TRANSACTION_MIN_THROUGHPUT = new Option<>(
            "publisher.transaction.min-throughput", 32L << 20,
            "Transactional only: the slowest the publisher is expected to send, in bytes per second (units as"
                    + " for sizes: 32MiB). Each version's transaction.timeout.ms is its transfer time at this rate"
                    + " plus 30 s, at least Kafka's 60 s; a version whose timeout would exceed the brokers'"
                    + " transaction.max.timeout.ms fails before anything is sent. Ignored when"
                    + " publisher.producer.transaction.timeout.ms is set.");

    public static final Option<Duration> TRANSACTION_MAX_TIMEOUT = new Option<>(
            "publisher.transaction.max-timeout", null,
            "Transactional only: the brokers' transaction.max.timeout.ms (900000, 15min). By default the"
                    + " publisher reads it from a broker (describeConfigs) and assumes Kafka's 15 min where it"
                    + " may not.");

    public static final Option<String> SIGNING_KEY = new Option<>(
            "publisher.signing.key", null,
            "Ed25519 private key (PKCS#8 PEM file, `weightpub keys generate` or `openssl genpkey -algorithm ed25519`)"
                    + " that signs every manifest; unset: manifests are unsigned. See docs/security.md.");

    public static final Option<String> SIGNING_KEY_ID = new Option<>(
            "publisher.signing.key-id", null,
            "Key id put in signed manifests; it must be the id the verifiers' public key file gives the key."
                    + " Default: the key file's Key-Id line, else the public key's fingerprint.");

    /** Keys starting with this prefix are passed to the Kafka producer without it (TLS, SASL, tuning). */
    public static final String PRODUCER_PREFIX = "publisher.producer.";

    public static final List<Option<?>> ALL =
            List.of(BOOTSTRAP_SERVERS, TOPIC_PREFIX, BUCKET_SIZE, CHUNK_SIZE, PRODUCERS, TRANSACTIONAL, TRANSACTIONAL_ID,
                    TRANSACTION_MIN_THROUGHPUT, TRANSACTION_MAX_TIMEOUT,
                    SIGNING_KEY, SIGNING_KEY_ID);

    private PublisherOptions() {
    }
}
