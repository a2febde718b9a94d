package io.weightpub.sink.internal;

import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.testutils.KafkaClusterExtension;
import io.weightpub.testutils.KafkaVersions;
import io.weightpub.testutils.TestVersion;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The replay reader against a real Kafka topic. */
class KafkaChunkReaderITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    private static final int BUCKET_BYTES = 32 * 1024;
    private static final int CHUNK_BYTES = 8 * 1024;

    @Test
    void readsOnlyThePublishsChunksFromEveryPartitionOfItsRangesBitExact() throws Exception {
        KAFKA.createTopic("reader-all", 2, Map.of());
        TestVersion version = TestVersion.of("llm", 1, 3, BUCKET_BYTES);
        try (KafkaVersions versions = new KafkaVersions(KAFKA.bootstrapServers(), "reader-all", 2)) {
            KafkaVersions.Published published = versions.publish(version, BUCKET_BYTES, CHUNK_BYTES);
            byte[] read = new byte[version.size()];

            KafkaChunkReader.Stats stats;
            try (KafkaChunkReader.Replay replay = reader().open("llm", version.publishId(), version.size(),
                    published.ranges())) {
                stats = replay.readInto((chunk, partition, offset) -> System.arraycopy(chunk.payload(),
                        chunk.payloadOffset(), read, (int) chunk.versionOffset(), chunk.payloadLength()));
            }

            assertThat(published.ranges()).extracting(KafkaOffsetRange::getPartition).containsExactly(0, 1);
            assertThat(read).isEqualTo(version.bytes());
            assertThat(stats.chunks()).isEqualTo(published.chunks().size());
            assertThat(stats.payloadBytes()).isEqualTo(version.size());
            // The other model's records between the chunks were read and skipped.
            assertThat(stats.records()).isGreaterThan(stats.chunks());
        }
    }

    @Test
    void eachChunkIsItsFirstCopyWithAGoodCrcAndLaterCopiesAreSkippedUncheckedSoTheVersionReplaysBitExact()
            throws Exception {
        KAFKA.createTopic("reader-dup", 1, Map.of());
        TestVersion version = TestVersion.of("llm", 3, 2, BUCKET_BYTES);
        try (KafkaVersions versions = new KafkaVersions(KAFKA.bootstrapServers(), "reader-dup", 1)) {
            // Chunk (0, 1) is followed by a copy whose CRC does not match and a good copy; chunk (1, 3)
            // by a copy with a valid CRC over other bytes. Live assembly dropped all three unchecked.
            // Chunk (1, 0) comes first as a corrupt copy (only possible for a committed version when its
            // copies landed in different partitions): the good copy after it is the chunk.
            KafkaVersions.Published published = versions.publishCopies(version, BUCKET_BYTES, CHUNK_BYTES,
                    chunk -> {
                        if (chunk.getBucketIndex() == 0 && chunk.getChunkIndex() == 1) {
                            return List.of(chunk, withPayload(chunk, flipped(chunk), chunk.getCrc32c()), chunk);
                        }
                        if (chunk.getBucketIndex() == 1 && chunk.getChunkIndex() == 0) {
                            return List.of(withPayload(chunk, flipped(chunk), chunk.getCrc32c()), chunk);
                        }
                        if (chunk.getBucketIndex() == 1 && chunk.getChunkIndex() == 3) {
                            byte[] other = flipped(chunk);
                            return List.of(chunk, withPayload(chunk, other, crc(other)));
                        }
                        return List.of(chunk);
                    }, true);
            byte[] read = new byte[version.size()];

            KafkaChunkReader.Stats stats;
            try (KafkaChunkReader.Replay replay = reader().open("llm", version.publishId(), version.size(),
                    published.ranges())) {
                stats = replay.readInto((chunk, partition, offset) -> System.arraycopy(chunk.payload(),
                        chunk.payloadOffset(), read, (int) chunk.versionOffset(), chunk.payloadLength()));
            }

            assertThat(read).isEqualTo(version.bytes());
            assertThat(stats.chunks()).isEqualTo(published.chunks().size());
            assertThat(stats.payloadBytes()).isEqualTo(version.size());
            assertThat(stats.skippedCopies()).isEqualTo(4);
        }
    }

    private static WeightChunk withPayload(WeightChunk chunk, byte[] payload, int crc) {
        return WeightChunk.newBuilder(chunk).setPayload(ByteBuffer.wrap(payload)).setCrc32c(crc).build();
    }

    private static byte[] flipped(WeightChunk chunk) {
        ByteBuffer payload = chunk.getPayload().duplicate();
        byte[] bytes = new byte[payload.remaining()];
        payload.get(bytes);
        bytes[17] ^= 0x40;
        return bytes;
    }

    private static int crc(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        return (int) crc.getValue();
    }

    @Test
    void chunkWithAWrongCrcFailsNamingItsBucketChunkAndOffset() throws Exception {
        KAFKA.createTopic("reader-crc", 1, Map.of());
        TestVersion version = TestVersion.of("llm", 2, 2, BUCKET_BYTES);
        try (KafkaVersions versions = new KafkaVersions(KAFKA.bootstrapServers(), "reader-crc", 1)) {
            KafkaVersions.Published published = versions.publish(version, BUCKET_BYTES, CHUNK_BYTES,
                    chunk -> chunk.getBucketIndex() == 1 && chunk.getChunkIndex() == 2
                            ? WeightChunk.newBuilder(chunk).setCrc32c(chunk.getCrc32c() ^ 1).build()
                            : chunk);
            long badOffset = published.chunks().get(4 + 2).sourceOffset();

            try (KafkaChunkReader.Replay replay = reader().open("llm", version.publishId(), version.size(),
                    published.ranges())) {
                assertThatThrownBy(() -> replay.readInto((chunk, partition, offset) -> { }))
                        .isInstanceOf(ReplayException.class)
                        .hasMessageContaining("bucket 1 chunk 2 of publish " + version.publishId())
                        .hasMessageContaining("reader-crc-0 offset " + badOffset)
                        .hasMessageContaining("CRC32C mismatch");
            }
        }
    }

    @Test
    void rangesBeyondTheReadableEndAreReportedBeforeAnythingIsRead() {
        KAFKA.createTopic("reader-end", 1, Map.of());
        assertThatThrownBy(() -> reader().open("llm", "p-1", 100,
                List.of(new KafkaOffsetRange("reader-end", 0, 0L, 5L))))
                .isInstanceOf(ReplayException.class)
                .hasMessageContaining("publish p-1 of model llm is no longer in Kafka")
                .hasMessageContaining("reader-end-0 offsets 0..5 are beyond the readable end 0");
    }

    private static KafkaChunkReader reader() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
        return new KafkaChunkReader(props, Duration.ofSeconds(20));
    }
}
