package io.weightpub.publisher;

import io.weightpub.publisher.testutils.MalformedSafetensors;
import io.weightpub.publisher.testutils.ReassembledVersion;
import io.weightpub.publisher.testutils.TopicReader;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.testutils.KafkaClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WeightPublisherITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @TempDir
    Path dir;

    private WeightPublisherBuilder publisher(String prefix) {
        return WeightPublisher.builder().bootstrapServers(KAFKA.bootstrapServers()).topicPrefix(prefix);
    }

    @Test
    void publishesAShardedCheckpointThatReassemblesBitForBitFromTheManifest() throws IOException {
        Path checkpoint = SyntheticCheckpoint.builder().hiddenSize(128).layers(3).shards(2).seed(5).build()
                .write(dir.resolve("ckpt"));
        TopicNames topics = TopicNames.of("roundtrip");
        List<PublishProgress> progress = new ArrayList<>();
        PublishResult result;
        try (WeightPublisher publisher = publisher("roundtrip").bucketSizeBytes(512 * 1024)
                .chunkSizeBytes(100_000).progressListener(progress::add).build();
                SafetensorsCheckpoint source = SafetensorsCheckpoint.open(checkpoint)) {
            result = publisher.publish("llama-tiny", 12, source);

            ReassembledVersion version = ReassembledVersion.read(KAFKA.bootstrapServers(), topics, result.publishId(), true);
            version.assertHoldsExactly(source.tensors());
            assertThat(version.manifest()).isEqualTo(result.manifest());
        }
        assertThat(result.modelId()).isEqualTo("llama-tiny");
        assertThat(result.step()).isEqualTo(12);
        assertThat(result.buckets()).isGreaterThan(2);
        assertThat(result.megabytesPerSecond()).isPositive();
        assertThat(result.toString()).contains("chunks=" + result.chunks()).contains("MB/s");

        List<ConsumerRecord<byte[], byte[]>> chunks = TopicReader.readAll(KAFKA.bootstrapServers(), topics.chunks(), true);
        assertThat(chunks).hasSize((int) result.chunks());
        for (ConsumerRecord<byte[], byte[]> record : chunks) {
            WeightChunk chunk = decode(record);
            assertThat(new String(record.key(), StandardCharsets.UTF_8))
                    .isEqualTo("llama-tiny/" + result.publishId() + "/" + chunk.getBucketIndex());
        }
        assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), topics.manifests(), true))
                .singleElement().satisfies(r -> assertThat(r.key()).asString().isEqualTo("llama-tiny"));
        PublishProgress last = progress.get(progress.size() - 1);
        assertThat(last.bytesSent()).isEqualTo(result.bytes()).isEqualTo(last.bytesAcked());
        assertThat(last.chunksSent()).isEqualTo(result.chunks()).isEqualTo(last.totalChunks());
    }

    @Test
    void publishesInMemoryTensorsOfEveryDtypeIncludingScalarsAndEmptyOnes() {
        Random random = new Random(11);
        List<TensorSource> tensors = new ArrayList<>();
        for (DType dtype : DType.values()) {
            byte[] bytes = new byte[37 * dtype.itemSize()];
            random.nextBytes(bytes);
            tensors.add(TensorSource.ofBytes("w." + dtype, dtype, new long[] {37}, bytes));
            tensors.add(TensorSource.ofBytes("scalar." + dtype, dtype, new long[0], new byte[dtype.itemSize()]));
            tensors.add(TensorSource.ofBuffer("empty." + dtype, dtype, new long[] {2, 0}, ByteBuffer.allocate(0)));
        }
        try (WeightPublisher publisher = publisher("dtypes").bucketSizeBytes(256).chunkSizeBytes(50).build()) {
            PublishResult result = publisher.publish("mixed", 1, tensors);
            ReassembledVersion.read(KAFKA.bootstrapServers(), publisher.topics(), result.publishId(), true)
                    .assertHoldsExactly(tensors);
        }
    }

    @Test
    void raisesTheProducerRequestLimitForChunksLargerThanKafkasDefault() throws IOException {
        int chunkSize = 3 << 20;
        Path checkpoint = SyntheticCheckpoint.builder().hiddenSize(512).layers(2).build().write(dir.resolve("c"));
        try (WeightPublisher publisher = publisher("bigchunks").chunkSizeBytes(chunkSize).build();
                SafetensorsCheckpoint source = SafetensorsCheckpoint.open(checkpoint)) {
            assertThat(publisher.producerConfig()).containsEntry("max.request.size", chunkSize + 64 * 1024);
            PublishResult result = publisher.publish("m", 1, source);
            assertThat(result.buckets()).isEqualTo(1);
            assertThat(result.chunks()).isEqualTo((result.bytes() + chunkSize - 1) / chunkSize);
            ReassembledVersion.read(KAFKA.bootstrapServers(), publisher.topics(), result.publishId(), true)
                    .assertHoldsExactly(source.tensors());
        }
    }

    @ParameterizedTest
    @EnumSource(MalformedSafetensors.class)
    void rejectsAMalformedCheckpointBeforePublishingAnyRecord(MalformedSafetensors malformed) throws IOException {
        String prefix = "bad-" + malformed.name().toLowerCase().replace('_', '-');
        TopicNames topics = TopicNames.of(prefix);
        KAFKA.createTopic(topics.chunks(), 1, Map.of());
        KAFKA.createTopic(topics.manifests(), 1, Map.of());
        Path broken = malformed.write(Files.createDirectories(dir.resolve(malformed.name())));
        try (WeightPublisher publisher = publisher(prefix).build()) {
            assertThatThrownBy(() -> publisher.publish("m", 1, broken))
                    .isInstanceOf(CheckpointFormatException.class)
                    .hasMessageContaining(malformed.messageFragment())
                    .hasMessageContaining(malformed.tensor() == null ? broken.toString() : "tensor '" + malformed.tensor() + "'");
        }
        assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), topics.chunks(), false)).isEmpty();
        assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), topics.manifests(), false)).isEmpty();
    }

    @Test
    void aSourceFailingMidwaySendsNoManifestAndThePublisherRecovers() {
        TensorSource good = TensorSource.ofBytes("good", DType.U8, new long[] {4000}, new byte[4000]);
        TensorSource failing = new TensorSource("layers.9.down_proj", DType.BF16, new long[] {2000}) {
            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                throw new IOException("disk vanished");
            }
        };
        TopicNames topics = TopicNames.of("midway");
        try (WeightPublisher publisher = publisher("midway").bucketSizeBytes(4096).chunkSizeBytes(1000).build()) {
            assertThatThrownBy(() -> publisher.publish("m", 3, List.of(good, failing)))
                    .isInstanceOfSatisfying(PublishException.class, e -> {
                        assertThat(e.modelId()).isEqualTo("m");
                        assertThat(e.step()).isEqualTo(3);
                        assertThat(e.getMessage()).contains("manifest not sent")
                                .contains("layers.9.down_proj").contains("disk vanished");
                    });
            PublishResult retry = publisher.publish("m", 3, List.of(good));
            assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), topics.manifests(), true))
                    .extracting(r -> decodeManifestPublishId(r.value()))
                    .containsExactly(retry.publishId());
        }
    }

    @Test
    void refusesSettingsThatBreakItsGuaranteesBeforeConnecting() {
        assertThatThrownBy(() -> WeightPublisher.builder().build()).hasMessageContaining("bootstrap servers are required");
        assertThatThrownBy(() -> publisher("p").producerProperty("acks", "1").build())
                .hasMessageContaining("producer setting 'acks' is set by the publisher");
        assertThatThrownBy(() -> publisher("p").producerProperty("enable.idempotence", "false").build())
                .hasMessageContaining("'enable.idempotence'");
        assertThatThrownBy(() -> publisher("p").transactional(true).build())
                .hasMessageContaining("needs a transactional id");
        assertThatThrownBy(() -> publisher("p").bucketSizeBytes(1001).build()).hasMessageContaining("multiple of 8");
        assertThatThrownBy(() -> publisher("p").chunkSizeBytes(0).build()).hasMessageContaining("chunk size 0");
        assertThatThrownBy(() -> publisher("bad prefix").build()).hasMessageContaining("topic prefix 'bad prefix'");
        assertThatThrownBy(() -> publisher("p").chunkSizeBytes(2 << 20).producerProperty("max.request.size", "1048576")
                .build()).hasMessageContaining("cannot carry a chunk of 2097152 bytes");
        assertThatThrownBy(() -> WeightPublisher.builder().configure(Map.of("publisher.chunk-sise", "1k")))
                .hasMessageContaining("unknown setting 'publisher.chunk-sise'");
    }

    @Test
    void takesItsSettingsFromOptionKeys() {
        try (WeightPublisher publisher = WeightPublisher.builder().configure(Map.of(
                PublisherOptions.BOOTSTRAP_SERVERS.key(), KAFKA.bootstrapServers(),
                PublisherOptions.TOPIC_PREFIX.key(), "configured",
                PublisherOptions.CHUNK_SIZE.key(), "2MiB",
                PublisherOptions.PRODUCER_PREFIX + "linger.ms", "7")).build()) {
            assertThat(publisher.topics().chunks()).isEqualTo("configured.chunks");
            assertThat(publisher.producerConfig()).containsEntry("linger.ms", "7")
                    .containsEntry("max.request.size", (2 << 20) + 64 * 1024);
            assertThat(publisher.transactional()).isFalse();
        }
    }

    private static WeightChunk decode(ConsumerRecord<byte[], byte[]> record) {
        try {
            return WireCodec.CHUNK.decode(record.value());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static String decodeManifestPublishId(byte[] value) {
        try {
            return WireCodec.MANIFEST.decode(value).getPublishId();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
