package io.weightpub.publisher;

import io.weightpub.publisher.testutils.ReassembledVersion;
import io.weightpub.publisher.testutils.TopicReader;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.WireCodec;
import io.weightpub.testutils.KafkaClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

class TransactionalPublishITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    private static List<TensorSource> tensors(int count, int bytesEach, long seed) {
        Random random = new Random(seed);
        List<TensorSource> tensors = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] bytes = new byte[bytesEach];
            random.nextBytes(bytes);
            tensors.add(TensorSource.ofBytes("layers." + i + ".weight", DType.BF16, new long[] {bytesEach / 2}, bytes));
        }
        return tensors;
    }

    private static WeightPublisherBuilder transactional(String prefix, PublishProgressListener listener) {
        return WeightPublisher.builder().bootstrapServers(KAFKA.bootstrapServers()).topicPrefix(prefix)
                .transactionalId("trainer-" + prefix).bucketSizeBytes(8192).chunkSizeBytes(1000)
                .progressListener(listener);
    }

    /** Publish ids of the chunk records a consumer of this isolation level sees. */
    private static List<String> chunkPublishIds(TopicNames topics, boolean readCommitted) {
        return TopicReader.readAll(KAFKA.bootstrapServers(), topics.chunks(), readCommitted).stream()
                .map(TransactionalPublishITCase::chunkPublishId).toList();
    }

    /** Waits until the log holds chunks of this publish (of any publish when {@code publishId} is null). */
    private static void awaitChunksInLog(TopicNames topics, String publishId) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            List<String> ids = chunkPublishIds(topics, false);
            if (publishId == null ? !ids.isEmpty() : ids.contains(publishId)) {
                return;
            }
            assertThat(System.nanoTime()).as("chunks reach the log").isLessThan(deadline);
            try {
                Thread.sleep(50); // give the producer's sender thread the CPU, not another read
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for chunks in the log", e);
            }
        }
    }

    @Test
    void anAbortedPublishLeavesNothingForReadCommittedConsumersAndTheNextPublishCommits() {
        TopicNames topics = TopicNames.of("tx-listener");
        List<TensorSource> tensors = tensors(6, 4000, 1);
        // Halfway, wait until chunks of this publish are in the log, then fail: the abort must
        // hide records the broker already holds, not only ones still in the producer's buffer.
        PublishProgressListener failHalfway = progress -> {
            if (progress.chunksSent() == progress.totalChunks() / 2) {
                awaitChunksInLog(topics, progress.publishId());
                throw new IllegalStateException("trainer interrupted");
            }
        };
        String aborted;
        try (WeightPublisher publisher = transactional("tx-listener", failHalfway).build()) {
            Throwable thrown = catchThrowable(() -> publisher.publish("m", 1, tensors));
            assertThat(thrown).isInstanceOf(PublishException.class)
                    .hasMessageContaining("transaction aborted: trainer interrupted");
            aborted = ((PublishException) thrown).publishId();
        }
        assertThat(chunkPublishIds(topics, true)).isEmpty();
        assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), topics.manifests(), true)).isEmpty();
        assertThat(chunkPublishIds(topics, false)).as("the aborted records are in the log").isNotEmpty()
                .containsOnly(aborted);

        try (WeightPublisher publisher = transactional("tx-listener", PublishProgressListener.NONE).build()) {
            PublishResult committed = publisher.publish("m", 2, tensors);
            assertThat(chunkPublishIds(topics, true)).hasSize((int) committed.chunks()).containsOnly(committed.publishId());
            ReassembledVersion.read(KAFKA.bootstrapServers(), topics, committed.publishId(), true)
                    .assertHoldsExactly(tensors);
        }
    }

    @Test
    void aSourceFailingWhileReadingAbortsTheTransactionAndTheSamePublisherPublishesAgain() {
        TopicNames topics = TopicNames.of("tx-source");
        List<TensorSource> tensors = new ArrayList<>(tensors(4, 4000, 2));
        tensors.add(new TensorSource("lm_head.weight", DType.BF16, new long[] {3000}) {
            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                // Fail only once earlier chunks are in the log, so the abort has broker-held records to hide.
                awaitChunksInLog(topics, null);
                throw new IOException("checkpoint shard deleted");
            }
        });
        try (WeightPublisher publisher = transactional("tx-source", PublishProgressListener.NONE).build()) {
            assertThatThrownBy(() -> publisher.publish("m", 5, tensors))
                    .isInstanceOf(PublishException.class)
                    .hasMessageContaining("lm_head.weight").hasMessageContaining("checkpoint shard deleted");
            assertThat(chunkPublishIds(topics, true)).isEmpty();
            assertThat(chunkPublishIds(topics, false)).isNotEmpty();

            List<TensorSource> good = tensors.subList(0, 4);
            PublishResult result = publisher.publish("m", 5, good);
            ReassembledVersion.read(KAFKA.bootstrapServers(), topics, result.publishId(), true).assertHoldsExactly(good);
            assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), topics.manifests(), true)).hasSize(1);
        }
    }

    private static String chunkPublishId(ConsumerRecord<byte[], byte[]> record) {
        try {
            return WireCodec.CHUNK.decode(record.value()).getPublishId();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
