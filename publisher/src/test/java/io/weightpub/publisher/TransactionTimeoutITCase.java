package io.weightpub.publisher;

import io.weightpub.publisher.testutils.TopicReader;
import io.weightpub.schemas.TopicNames;
import io.weightpub.testutils.KafkaClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How the publisher sizes {@code transaction.timeout.ms}, observed on the transaction coordinator. */
class TransactionTimeoutITCase {

    /** A lower ceiling than Kafka's 15 min, so a small version can exceed it; timed-out transactions abort fast. */
    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension(Map.of(
            "transaction.max.timeout.ms", "150000",
            "transaction.abort.timed.out.transaction.cleanup.interval.ms", "200"));

    /** 100,000 bytes: at 1000 bytes/s a transfer of 100 s, so a timeout of 130 s with the margin. */
    private static List<TensorSource> version() {
        byte[] bytes = new byte[100_000];
        new Random(7).nextBytes(bytes);
        return List.of(TensorSource.ofBytes("w", DType.BF16, new long[] {50_000}, bytes));
    }

    private static WeightPublisherBuilder transactional(String prefix) {
        return WeightPublisher.builder().bootstrapServers(KAFKA.bootstrapServers()).topicPrefix(prefix)
                .transactionalId("trainer-" + prefix).chunkSizeBytes(10_000);
    }

    /** The timeout the coordinator holds for this transactional id (what the producer registered). */
    private static long coordinatorTimeoutMs(String transactionalId) throws Exception {
        try (Admin admin = Admin.create(KAFKA.kafka().adminProperties())) {
            return admin.describeTransactions(List.of(transactionalId)).description(transactionalId).get()
                    .transactionTimeoutMs();
        }
    }

    @Test
    void eachVersionsTransactionTimeoutIsSizedFromItsBytesAndTheMinimumThroughput() throws Exception {
        try (WeightPublisher publisher = transactional("tx-sized")
                .configure(Map.of(PublisherOptions.TRANSACTION_MIN_THROUGHPUT.key(), "1000")).build()) {
            publisher.publish("m", 1, version());
            assertThat(coordinatorTimeoutMs("trainer-tx-sized")).isEqualTo(130_000);
        }
    }

    @Test
    void aSmallVersionKeepsKafkasDefaultTimeout() throws Exception {
        try (WeightPublisher publisher = transactional("tx-small").build()) {
            publisher.publish("m", 1, version());
            assertThat(coordinatorTimeoutMs("trainer-tx-small")).isEqualTo(60_000);
        }
    }

    @Test
    void anExplicitTransactionTimeoutIsKeptAsSet() throws Exception {
        try (WeightPublisher publisher = transactional("tx-explicit").producerProperty("transaction.timeout.ms", "45000")
                .configure(Map.of(PublisherOptions.TRANSACTION_MIN_THROUGHPUT.key(), "1000")).build()) {
            publisher.publish("m", 1, version());
            assertThat(coordinatorTimeoutMs("trainer-tx-explicit")).isEqualTo(45_000);
        }
    }

    @Test
    void aVersionThatCannotFitTheBrokersMaximumFailsBeforeSendingAndNamesItsSizeAndTimeout() {
        TopicNames topics = TopicNames.of("tx-toolarge");
        // 100,000 bytes at 800 bytes/s: 125 s + 30 s, over the brokers' 150 s (read from the broker).
        try (WeightPublisher publisher = transactional("tx-toolarge")
                .configure(Map.of(PublisherOptions.TRANSACTION_MIN_THROUGHPUT.key(), "800")).build()) {
            assertThatThrownBy(() -> publisher.publish("m", 3, version()))
                    .isInstanceOf(PublishException.class)
                    .hasMessageContaining("model m step 3")
                    .hasMessageContaining("a version of 97.66 KiB (100000 bytes) needs a transaction timeout of 155 s")
                    .hasMessageContaining("the brokers allow at most 150 s (transaction.max.timeout.ms)");
        }
        assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), topics.chunks(), false)).isEmpty();
    }

    @Test
    void aPublishSlowerThanItsTimeoutFailsWithAMessageNamingTheTimeout() {
        // The trainer stalls for 5 s inside a transaction allowed 2 s: the coordinator aborts it.
        PublishProgressListener stall = progress -> {
            if (progress.chunksSent() == 2) {
                try {
                    Thread.sleep(5_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        try (WeightPublisher publisher = transactional("tx-slow").producerProperty("transaction.timeout.ms", "2000")
                .progressListener(stall).build()) {
            assertThatThrownBy(() -> publisher.publish("m", 4, version()))
                    .isInstanceOf(PublishException.class)
                    .hasMessageContaining("transaction aborted")
                    .hasMessageContaining("longer than its transaction.timeout.ms of 2 s")
                    .hasMessageContaining("raise publisher.producer.transaction.timeout.ms");
        }
        assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), TopicNames.of("tx-slow").manifests(), true)).isEmpty();
    }
}
