package io.weightpub.ops;

import io.weightpub.ops.testutils.OpsTopics;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.testutils.KafkaClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

class VersionIndexReaderITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @Test
    void keepsTheLatestEntryPerModelAndVersion() {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            KafkaOffsetRange chunks = kafka.writeChunks(0, 3);
            kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(chunks)));
            kafka.write(kafka.entry("llama", 2, 2, "publish", List.of(chunks)));
            // The job rewrites an entry after a restart: the later record wins.
            kafka.write(kafka.entry("llama", 1, 1, "publish again", List.of(chunks)));
            kafka.write(kafka.entry("qwen", 1, 1, "publish", List.of(chunks)));

            VersionIndex index = new VersionIndexReader(kafka.connection(), kafka.topics()).read();

            assertThat(index.versions()).extracting(IndexedVersion::modelId, IndexedVersion::version, IndexedVersion::reason)
                    .containsExactly(
                            tuple("llama", 1L, "publish again"),
                            tuple("llama", 2L, "publish"),
                            tuple("qwen", 1L, "publish"));
            IndexedVersion first = index.find("llama", 1).orElseThrow();
            assertThat(first.publishId()).isEqualTo("publish-1");
            assertThat(first.step()).isEqualTo(101);
            assertThat(first.totalBytes()).isEqualTo(1024 * 1024);
            assertThat(first.manifestSha256()).isEqualTo("abcd010102030405");
            assertThat(first.completedAtMs()).isEqualTo(1_700_000_001_000L);
            assertThat(index.latest("llama")).map(IndexedVersion::version).contains(2L);
            assertThat(index.skipped()).isEmpty();
        }
    }

    @Test
    void filtersByModel() {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            KafkaOffsetRange chunks = kafka.writeChunks(0, 1);
            kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(chunks)));
            kafka.write(kafka.entry("qwen", 1, 1, "publish", List.of(chunks)));

            VersionIndex index = new VersionIndexReader(kafka.connection(), kafka.topics()).read(Optional.of("qwen"));

            assertThat(index.versions()).extracting(IndexedVersion::modelId).containsExactly("qwen");
        }
    }

    @Test
    void versionIsRetainedOnlyWhileEveryChunkRangeIsStillInTheChunksTopic() throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            KafkaOffsetRange old = kafka.writeChunks(0, 5);
            KafkaOffsetRange newer = kafka.writeChunks(0, 5);
            KafkaOffsetRange otherPartition = kafka.writeChunks(1, 2);
            kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(old, otherPartition)));
            kafka.write(kafka.entry("llama", 2, 2, "publish", List.of(newer, otherPartition)));
            VersionIndexReader reader = new VersionIndexReader(kafka.connection(), kafka.topics());
            assertThat(reader.read().versions()).allMatch(IndexedVersion::retained);

            // Retention removed the first record of version 1's range on partition 0.
            kafka.deleteChunksBefore(0, old.getFirstOffset() + 1);

            VersionIndex index = reader.read();
            IndexedVersion evicted = index.find("llama", 1).orElseThrow();
            assertThat(evicted.retained()).isFalse();
            assertThat(evicted.evicted()).containsExactly(kafka.topics().chunks() + "-0 offsets 0..4: the log now starts at 1");
            IndexedVersion kept = index.find("llama", 2).orElseThrow();
            assertThat(kept.retained()).isTrue();
            assertThat(kept.evicted()).isEmpty();
        }
    }

    @Test
    void rangeOnAPartitionThatDoesNotExistIsNotRetained() {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            KafkaOffsetRange gone = new KafkaOffsetRange(kafka.topics().prefix() + ".old-chunks", 0, 0L, 9L);
            kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(gone)));

            IndexedVersion version = new VersionIndexReader(kafka.connection(), kafka.topics()).read()
                    .find("llama", 1).orElseThrow();

            assertThat(version.retained()).isFalse();
            assertThat(version.evicted()).singleElement().asString()
                    .startsWith(kafka.topics().prefix() + ".old-chunks-0 offsets 0..9: the partition cannot be read");
        }
    }

    @Test
    void tombstoneRemovesAnEntryAndUndecodableRecordsAreReportedNotDropped() {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            KafkaOffsetRange chunks = kafka.writeChunks(0, 1);
            kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(chunks)));
            kafka.write(kafka.entry("llama", 2, 2, "publish", List.of(chunks)));
            kafka.writeRaw(kafka.topics().versions(), "llama/2", null);
            kafka.writeRaw(kafka.topics().versions(), "llama/3", "not avro".getBytes(StandardCharsets.UTF_8));

            VersionIndex index = new VersionIndexReader(kafka.connection(), kafka.topics()).read();

            assertThat(index.versions()).extracting(IndexedVersion::version).containsExactly(1L);
            assertThat(index.skipped()).singleElement().satisfies(skipped -> {
                assertThat(skipped.topic()).isEqualTo(kafka.topics().versions());
                assertThat(skipped.offset()).isEqualTo(3L);
                assertThat(skipped.reason()).startsWith("VersionIndexEntry does not decode");
            });
        }
    }

    @Test
    void requireRollbackTargetSaysWhichVersionsExistAndWhichAreRetained() throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            KafkaOffsetRange old = kafka.writeChunks(0, 2);
            KafkaOffsetRange newer = kafka.writeChunks(0, 2);
            kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(old)));
            kafka.write(kafka.entry("llama", 2, 2, "publish", List.of(newer)));
            kafka.deleteChunksBefore(0, newer.getFirstOffset());
            VersionIndex index = new VersionIndexReader(kafka.connection(), kafka.topics()).read();

            assertThat(index.requireRollbackTarget("llama", 2).version()).isEqualTo(2);
            assertThatThrownBy(() -> index.requireRollbackTarget("llama", 7))
                    .isInstanceOf(OpsException.class)
                    .hasMessage("model llama has no version 7 in " + kafka.topics().versions() + "; known versions: 1, 2");
            assertThatThrownBy(() -> index.requireRollbackTarget("llama", 1))
                    .isInstanceOf(OpsException.class)
                    .hasMessageStartingWith("version 1 of model llama is no longer retained")
                    .hasMessageEndingWith("Retained versions: 2");
            assertThatThrownBy(() -> index.requireRollbackTarget("qwen", 1))
                    .hasMessage("model qwen has no version 1 in " + kafka.topics().versions()
                            + "; the index has no versions of that model (models: llama)");
        }
    }

    @Test
    void missingVersionsTopicIsAnErrorNamingTheTopic() {
        try (OpsTopics kafka = OpsTopics.withoutTopics(KAFKA)) {
            assertThatThrownBy(() -> new VersionIndexReader(kafka.connection(), kafka.topics()).read())
                    .isInstanceOf(OpsException.class)
                    .hasMessageStartingWith("topic " + kafka.topics().versions() + " does not exist");
        }
    }
}
