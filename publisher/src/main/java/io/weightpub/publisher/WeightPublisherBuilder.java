package io.weightpub.publisher;

import io.weightpub.publisher.internal.TransactionTimeouts;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.signing.SigningKey;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.kafka.clients.producer.ProducerConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/** Settings of a publisher; {@link #build()} checks them and connects. */
@PublicEvolving
public final class WeightPublisherBuilder {

    /** Producer settings the publisher's guarantees depend on; they cannot be overridden. */
    private static final Set<String> RESERVED = Set.of(
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
            ProducerConfig.ACKS_CONFIG,
            ProducerConfig.TRANSACTIONAL_ID_CONFIG,
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);

    /** Each producer holds up to buffer.memory of records and a thread: more would only cost memory. */
    static final int MAX_PRODUCERS = 64;

    private String bootstrapServers;
    String topicPrefix = PublisherOptions.TOPIC_PREFIX.defaultValue();
    long bucketSizeBytes = PublisherOptions.BUCKET_SIZE.defaultValue();
    int chunkSizeBytes = PublisherOptions.CHUNK_SIZE.defaultValue();
    int producers = PublisherOptions.PRODUCERS.defaultValue();
    boolean transactional = PublisherOptions.TRANSACTIONAL.defaultValue();
    private String transactionalId;
    long minThroughput = PublisherOptions.TRANSACTION_MIN_THROUGHPUT.defaultValue();
    Duration maxTransactionTimeout;
    private final Map<String, String> extraProducerProperties = new LinkedHashMap<>();
    PublishProgressListener listener = PublishProgressListener.NONE;
    SigningKey signingKey;
    private Path signingKeyFile;
    private String signingKeyId;

    WeightPublisherBuilder() {
    }

    /** Signs every manifest with {@code key}. */
    public WeightPublisherBuilder signingKey(SigningKey key) {
        this.signingKey = Objects.requireNonNull(key, "key");
        return this;
    }

    /** Signs every manifest with the PKCS#8 PEM private key in {@code file} (read by {@link #build()}). */
    public WeightPublisherBuilder signingKeyFile(Path file) {
        this.signingKeyFile = Objects.requireNonNull(file, "file");
        return this;
    }

    /** The key id to sign with, instead of the key's own (see {@link PublisherOptions#SIGNING_KEY_ID}). */
    public WeightPublisherBuilder signingKeyId(String keyId) {
        this.signingKeyId = Objects.requireNonNull(keyId, "keyId");
        return this;
    }

    public WeightPublisherBuilder bootstrapServers(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
        return this;
    }

    public WeightPublisherBuilder topicPrefix(String topicPrefix) {
        this.topicPrefix = topicPrefix;
        return this;
    }

    public WeightPublisherBuilder bucketSizeBytes(long bucketSizeBytes) {
        this.bucketSizeBytes = bucketSizeBytes;
        return this;
    }

    public WeightPublisherBuilder chunkSizeBytes(int chunkSizeBytes) {
        this.chunkSizeBytes = chunkSizeBytes;
        return this;
    }

    /** Producers that send one publish in parallel (see {@link PublisherOptions#PRODUCERS}). */
    public WeightPublisherBuilder producers(int producers) {
        this.producers = producers;
        return this;
    }

    public WeightPublisherBuilder transactional(boolean transactional) {
        this.transactional = transactional;
        return this;
    }

    /** Also turns transactions on. */
    public WeightPublisherBuilder transactionalId(String transactionalId) {
        this.transactionalId = transactionalId;
        this.transactional = true;
        return this;
    }

    /**
     * Transactional only: the slowest expected send rate, which sizes each version's
     * {@code transaction.timeout.ms} (see {@link PublisherOptions#TRANSACTION_MIN_THROUGHPUT}).
     */
    public WeightPublisherBuilder transactionMinThroughput(long bytesPerSecond) {
        this.minThroughput = bytesPerSecond;
        return this;
    }

    /** Transactional only: the brokers' {@code transaction.max.timeout.ms}, instead of reading it from a broker. */
    public WeightPublisherBuilder transactionMaxTimeout(Duration maxTimeout) {
        this.maxTransactionTimeout = Objects.requireNonNull(maxTimeout, "maxTimeout");
        return this;
    }

    /** A Kafka producer setting passed through as is (TLS, SASL, tuning). */
    public WeightPublisherBuilder producerProperty(String key, String value) {
        extraProducerProperties.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, key));
        return this;
    }

    public WeightPublisherBuilder producerProperties(Map<String, String> properties) {
        properties.forEach(this::producerProperty);
        return this;
    }

    public WeightPublisherBuilder progressListener(PublishProgressListener listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
        return this;
    }

    /**
     * Applies settings by their {@link PublisherOptions} keys; keys starting with
     * {@link PublisherOptions#PRODUCER_PREFIX} go to the producer. Unknown {@code publisher.}
     * keys are rejected so a typo does not silently fall back to a default.
     */
    public WeightPublisherBuilder configure(Map<String, String> settings) {
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String key = e.getKey();
            String value = e.getValue().trim();
            if (key.startsWith(PublisherOptions.PRODUCER_PREFIX)) {
                producerProperty(key.substring(PublisherOptions.PRODUCER_PREFIX.length()), value);
            } else if (key.equals(PublisherOptions.BOOTSTRAP_SERVERS.key())) {
                bootstrapServers(value);
            } else if (key.equals(PublisherOptions.TOPIC_PREFIX.key())) {
                topicPrefix(value);
            } else if (key.equals(PublisherOptions.BUCKET_SIZE.key())) {
                bucketSizeBytes(ByteSize.parse(value));
            } else if (key.equals(PublisherOptions.CHUNK_SIZE.key())) {
                chunkSizeBytes(Math.toIntExact(ByteSize.parse(value)));
            } else if (key.equals(PublisherOptions.PRODUCERS.key())) {
                try {
                    producers(Integer.parseInt(value));
                } catch (NumberFormatException notANumber) {
                    throw new IllegalArgumentException(key + " must be a whole number, was '" + value + "'");
                }
            } else if (key.equals(PublisherOptions.TRANSACTIONAL.key())) {
                transactional(parseBoolean(key, value));
            } else if (key.equals(PublisherOptions.TRANSACTIONAL_ID.key())) {
                transactionalId(value);
            } else if (key.equals(PublisherOptions.SIGNING_KEY.key())) {
                signingKeyFile(Path.of(value));
            } else if (key.equals(PublisherOptions.SIGNING_KEY_ID.key())) {
                signingKeyId(value);
            } else if (key.equals(PublisherOptions.TRANSACTION_MIN_THROUGHPUT.key())) {
                transactionMinThroughput(ByteSize.parse(value));
            } else if (key.equals(PublisherOptions.TRANSACTION_MAX_TIMEOUT.key())) {
                transactionMaxTimeout(TransactionTimeouts.parseDuration(value));
            } else if (key.startsWith("publisher.")) {
                throw new IllegalArgumentException("unknown setting '" + key + "', expected one of "
                        + PublisherOptions.ALL.stream().map(PublisherOptions.Option::key).toList()
                        + " or " + PublisherOptions.PRODUCER_PREFIX + "<producer setting>");
            }
        }
        return this;
    }

    private static boolean parseBoolean(String key, String value) {
        if (!value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false")) {
            throw new IllegalArgumentException(key + " must be true or false, was '" + value + "'");
        }
        return Boolean.parseBoolean(value);
    }

    Map<String, Object> producerConfig() {
        int maxRequestSize = Math.max(WeightPublisher.KAFKA_DEFAULT_MAX_REQUEST_SIZE, chunkSizeBytes + WeightPublisher.RECORD_OVERHEAD_BYTES);
        Map<String, Object> config = new LinkedHashMap<>();
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "weightpub-publisher");
        config.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxRequestSize);
        config.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Math.max(WeightPublisher.KAFKA_DEFAULT_BUFFER_MEMORY, 4L * maxRequestSize));
        config.putAll(extraProducerProperties);
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        if (transactional) {
            config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        return config;
    }

    public WeightPublisher build() {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("bootstrap servers are required (host:port[,host:port...])");
        }
        TopicNames.of(topicPrefix);
        BucketPlanner.checkBucketSize(bucketSizeBytes);
        PublishEncoder.checkChunkSize(chunkSizeBytes);
        if (transactional && (transactionalId == null || transactionalId.isBlank())) {
            throw new IllegalArgumentException("transactional publishing needs a transactional id;"
                    + " keep it stable per trainer so a restarted trainer fences its predecessor");
        }
        if (producers < 1 || producers > MAX_PRODUCERS) {
            throw new IllegalArgumentException(PublisherOptions.PRODUCERS.key() + " must be between 1 and "
                    + MAX_PRODUCERS + ", was " + producers);
        }
        if (minThroughput <= 0) {
            throw new IllegalArgumentException(PublisherOptions.TRANSACTION_MIN_THROUGHPUT.key()
                    + " must be positive, was " + minThroughput + " bytes per second");
        }
        for (String key : extraProducerProperties.keySet()) {
            if (RESERVED.contains(key)) {
                throw new IllegalArgumentException("producer setting '" + key + "' is set by the publisher"
                        + " (bootstrap servers and transactional id have their own builder methods;"
                        + " idempotence, acks=all and byte-array serializers are required)");
            }
        }
        Object maxRequest = extraProducerProperties.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
        if (maxRequest != null && Long.parseLong(maxRequest.toString()) < chunkSizeBytes + WeightPublisher.RECORD_OVERHEAD_BYTES) {
            throw new IllegalArgumentException(ProducerConfig.MAX_REQUEST_SIZE_CONFIG + "=" + maxRequest
                    + " cannot carry a chunk of " + chunkSizeBytes + " bytes; it needs at least "
                    + (chunkSizeBytes + WeightPublisher.RECORD_OVERHEAD_BYTES));
        }
        if (signingKeyFile != null) {
            try {
                signingKey = SigningKey.load(signingKeyFile);
            } catch (IOException | UncheckedIOException e) {
                throw new IllegalArgumentException(PublisherOptions.SIGNING_KEY.key() + ": " + e.getMessage(), e);
            }
        }
        if (signingKeyId != null) {
            if (signingKey == null) {
                throw new IllegalArgumentException(PublisherOptions.SIGNING_KEY_ID.key() + " is set but no"
                        + " signing key (" + PublisherOptions.SIGNING_KEY.key() + ")");
            }
            signingKey = signingKey.withKeyId(signingKeyId);
        }
        return new WeightPublisher(this);
    }
}
