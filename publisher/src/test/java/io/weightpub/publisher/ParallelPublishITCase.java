package io.weightpub.publisher;

import io.weightpub.publisher.testutils.ReassembledVersion;
import io.weightpub.publisher.testutils.TopicReader;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.testutils.KafkaClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

class ParallelPublishITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    private static final int PARTITIONS = 6;

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

    /** Topics of the prefix, chunks with {@link #PARTITIONS} partitions. */
    private static TopicNames topics(String prefix) {
        TopicNames topics = TopicNames.of(prefix);
        KAFKA.createTopic(topics.chunks(), PARTITIONS, Map.of());
        KAFKA.createTopic(topics.manifests(), 1, Map.of());
        return topics;
    }

    /** Two tensors of 4000 bytes per bucket, 8 chunks of 1000 bytes per bucket. */
    private static WeightPublisherBuilder publisher(String transactionalId, int producers) {
        return WeightPublisher.builder().bootstrapServers(KAFKA.bootstrapServers()).topicPrefix(transactionalId)
                .transactionalId(transactionalId).producers(producers).bucketSizeBytes(8000).chunkSizeBytes(1000);
    }

    private static List<ConsumerRecord<byte[], byte[]>> chunkRecords(TopicNames topics, boolean readCommitted) {
        return TopicReader.readAll(KAFKA.bootstrapServers(), topics.chunks(), readCommitted);
    }

    private static WeightChunk decode(ConsumerRecord<byte[], byte[]> record) {
        try {
            return WireCodec.CHUNK.decode(record.value());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aPublishThroughFourProducersLandsEveryChunkOnceSpreadEvenlyAndTheManifestAfterEveryCommit()
            throws Exception {
        TopicNames topics = topics("pp-four");
        List<TensorSource> tensors = tensors(16, 4000, 1); // 8 buckets, 64 chunks
        ManifestWatcher watcher = new ManifestWatcher(topics, "pp-four", 4);
        PublishResult result;
        try (WeightPublisher publisher = publisher("pp-four", 4).build()) {
            result = publisher.publish("m", 1, tensors);
        } finally {
            watcher.stop();
        }
        assertThat(result.buckets()).isEqualTo(8);
        List<ConsumerRecord<byte[], byte[]>> committed = chunkRecords(topics, true);
        assertThat(committed).hasSize(64);
        Set<String> coordinates = committed.stream().map(ParallelPublishITCase::decode)
                .map(c -> c.getBucketIndex() + "/" + c.getChunkIndex()).collect(Collectors.toSet());
        assertThat(coordinates).as("every chunk exactly once").hasSize(64);
        Map<Integer, Long> perPartition = committed.stream()
                .collect(Collectors.groupingBy(ConsumerRecord::partition, Collectors.counting()));
        assertThat(perPartition).as("64 chunks over 6 partitions").hasSize(PARTITIONS);
        assertThat(perPartition.values()).allMatch(n -> n == 10 || n == 11);
        ReassembledVersion.read(KAFKA.bootstrapServers(), topics, result.publishId(), true).assertHoldsExactly(tensors);
        assertThat(watcher.statesWhenManifestVisible())
                .as("when the manifest became visible, no share's transaction was still open").isNotEmpty()
                .doesNotContain(TransactionState.ONGOING);
    }

    @Test
    void aTensorSourceThatThrowsInOneShareAbortsEveryShareAndTheNextPublishCommits() {
        TopicNames topics = topics("pp-source");
        List<TensorSource> tensors = new ArrayList<>(tensors(7, 4000, 2));
        tensors.add(new TensorSource("lm_head.weight", DType.BF16, new long[] {2000}) {
            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                // Fail only once other shares' chunks are in the log, so there is something to abort.
                awaitUncommittedChunks(topics, 8);
                throw new IOException("checkpoint shard deleted");
            }
        });
        try (WeightPublisher publisher = publisher("pp-source", 4).build()) {
            Throwable thrown = catchThrowable(() -> publisher.publish("m", 1, tensors));
            assertThat(thrown).isInstanceOf(PublishException.class).hasMessageContaining("lm_head.weight")
                    .hasMessageContaining("checkpoint shard deleted");
            assertAbortedWithoutTrace(topics);

            List<TensorSource> good = tensors.subList(0, 7);
            PublishResult next = publisher.publish("m", 2, good);
            ReassembledVersion.read(KAFKA.bootstrapServers(), topics, next.publishId(), true).assertHoldsExactly(good);
        }
    }

    @Test
    void aFencedProducerAbortsEveryShareAndNoManifestIsCommitted() {
        TopicNames topics = topics("pp-fenced");
        AtomicBoolean fenced = new AtomicBoolean();
        List<TensorSource> tensors = new ArrayList<>(tensors(6, 4000, 3));
        byte[] last = new byte[4000];
        // Bucket 3 is the last share's: before it is read, a zombie with that share's id fences it.
        tensors.add(new TensorSource("lm_head.weight", DType.BF16, new long[] {2000}) {
            @Override
            public void read(long offset, ByteBuffer dst) {
                if (fenced.compareAndSet(false, true)) {
                    awaitUncommittedChunks(topics, 8);
                    fence("pp-fenced-3");
                }
                dst.put(ByteBuffer.wrap(last, (int) offset, dst.remaining()));
            }
        });
        try (WeightPublisher publisher = publisher("pp-fenced", 4).build()) {
            Throwable thrown = catchThrowable(() -> publisher.publish("m", 1, tensors));
            assertThat(thrown).isInstanceOf(PublishException.class).hasMessageContaining("transaction aborted");
            assertThat(fenced).isTrue();
            assertAbortedWithoutTrace(topics);

            PublishResult next = publisher.publish("m", 2, tensors);
            ReassembledVersion.read(KAFKA.bootstrapServers(), topics, next.publishId(), true).assertHoldsExactly(tensors);
        }
    }

    @Test
    void twoRanksPublishShardsAndRankZeroTheManifest() throws Exception {
        TopicNames topics = topics("pp-ranks");
        List<TensorSource> tensors = tensors(12, 4000, 4);
        List<TensorSource> specs = tensors.stream().map(t -> TensorSource.spec(t.name(), t.dtype(), t.shape())).toList();
        ExecutorService ranks = Executors.newFixedThreadPool(2);
        try (WeightPublisher rank0 = publisher("pp-ranks", 2).transactionalId("pp-ranks-r0").build();
                WeightPublisher rank1 = publisher("pp-ranks", 2).transactionalId("pp-ranks-r1").build()) {
            List<WeightPublisher> publishers = List.of(rank0, rank1);
            List<Future<String>> shards = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                shards.add(ranks.submit(() -> {
                    PublishPlan plan = publishers.get(rank).planPublish("m", 4, "publish-4", specs, 2);
                    List<String> own = plan.tensors(rank);
                    // What crosses the barrier is text, as it would between processes.
                    return publishers.get(rank).publishShard(plan, rank,
                            tensors.stream().filter(t -> own.contains(t.name())).toList()).encode();
                }));
            }
            Collection<ShardResult> gathered = new ArrayList<>();
            for (Future<String> shard : shards) {
                gathered.add(ShardResult.parse(shard.get(60, TimeUnit.SECONDS)));
            }
            assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), topics.manifests(), true))
                    .as("no manifest before rank 0 sends it").isEmpty();
            PublishPlan plan = rank0.planPublish("m", 4, "publish-4", specs, 2);
            assertThat(plan.tensors(0)).isNotEmpty();
            assertThat(plan.tensors(1)).isNotEmpty();
            PublishResult result = rank0.publishManifest(plan, gathered);
            assertThat(result.chunks()).isEqualTo(48);
        } finally {
            ranks.shutdownNow();
        }
        ReassembledVersion.read(KAFKA.bootstrapServers(), topics, "publish-4", true).assertHoldsExactly(tensors);
        Map<Integer, Long> perPartition = chunkRecords(topics, true).stream()
                .collect(Collectors.groupingBy(ConsumerRecord::partition, Collectors.counting()));
        assertThat(perPartition.values()).as("both ranks' chunks together are even").containsOnly(8L);
    }

    private static void assertAbortedWithoutTrace(TopicNames topics) {
        assertThat(chunkRecords(topics, true)).as("read_committed sees no chunk of the failed publish").isEmpty();
        assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), topics.manifests(), false)).as("no manifest sent")
                .isEmpty();
        assertThat(chunkRecords(topics, false).stream().map(r -> decode(r).getBucketIndex()).distinct().count())
                .as("chunks of several shares reached the log before the abort").isGreaterThan(1);
    }

    private static void awaitUncommittedChunks(TopicNames topics, int atLeast) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (chunkRecords(topics, false).size() < atLeast) {
            assertThat(System.nanoTime()).as("chunks reach the log").isLessThan(deadline);
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** A zombie producer with this transactional id: initialising it fences the publisher's. */
    private static void fence(String transactionalId) {
        Map<String, Object> config = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        try (KafkaProducer<byte[], byte[]> zombie =
                new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            zombie.initTransactions();
        }
    }

    /**
     * Polls the manifests topic read_committed while a publish runs; the moment the manifest is
     * visible it records the states of the shares' transactions.
     */
    private static final class ManifestWatcher {
        private final CompletableFuture<List<TransactionState>> states;
        private final AtomicBoolean stopped = new AtomicBoolean();

        ManifestWatcher(TopicNames topics, String transactionalId, int producers) {
            List<String> ids = IntStream.range(0, producers).mapToObj(k -> k == 0 ? transactionalId : transactionalId + "-" + k)
                    .toList();
            states = CompletableFuture.supplyAsync(() -> watch(topics, ids));
        }

        private List<TransactionState> watch(TopicNames topics, List<String> ids) {
            Map<String, Object> config = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers(),
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            try (KafkaConsumer<byte[], byte[]> consumer =
                    new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                    Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers()))) {
                TopicPartition manifests = new TopicPartition(topics.manifests(), 0);
                consumer.assign(List.of(manifests));
                consumer.seekToBeginning(List.of(manifests));
                while (!stopped.get()) {
                    if (!consumer.poll(Duration.ofMillis(5)).isEmpty()) {
                        Map<String, TransactionDescription> described = admin.describeTransactions(ids).all()
                                .get(30, TimeUnit.SECONDS);
                        return described.values().stream().map(TransactionDescription::state).toList();
                    }
                }
                return List.of();
            } catch (Exception e) {
                throw new AssertionError("watching " + topics.manifests() + " failed", e);
            }
        }

        void stop() throws Exception {
            try {
                states.get(30, TimeUnit.SECONDS); // time to see a manifest that was just committed
            } catch (TimeoutException e) {
                // no manifest within 30 s: the assertion on the states reports it
            } finally {
                stopped.set(true);
            }
        }

        List<TransactionState> statesWhenManifestVisible() throws Exception {
            return new ArrayList<>(new HashSet<>(states.get(60, TimeUnit.SECONDS)));
        }
    }
}
