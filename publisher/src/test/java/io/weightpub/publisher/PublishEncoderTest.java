package io.weightpub.publisher;

import io.weightpub.publisher.testutils.ReassembledVersion;
import io.weightpub.publisher.testutils.SafetensorsFiles;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.DigestKind;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.DigestScheme;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PublishEncoderTest {

    private static PublishEncoder encoder(List<TensorSource> tensors, long bucketSize, int chunkSize) {
        return PublishEncoder.builder().modelId("llama").step(7).tensors(tensors)
                .bucketSizeBytes(bucketSize).chunkSizeBytes(chunkSize).build();
    }

    private static List<WeightChunk> drain(PublishEncoder encoder) {
        List<WeightChunk> chunks = new ArrayList<>();
        encoder.chunks().forEachRemaining(chunks::add);
        return chunks;
    }

    /**
     * One U8 tensor of {@code tensorBytes} in one bucket (bucket size 8-padded), cut into chunks
     * of {@code chunkSize}: every edge of the chunk arithmetic.
     */
    @ParameterizedTest(name = "tensor {0} B, chunk {1} B -> {2} chunks, last {3} B")
    @CsvSource({
            "64, 64, 1, 64",      // payload exactly the chunk size
            "64, 63, 2, 1",       // one byte more than a chunk
            "64, 65, 1, 64",      // one byte less than a chunk
            "128, 64, 2, 64",     // bucket an exact multiple of the chunk size
            "129, 64, 3, 8",      // one byte over a multiple, padded to 136
            "127, 64, 2, 64",     // padding fills the bucket to exactly 2 chunks
            "16, 1, 16, 1",       // 1-byte chunks
            "0, 64, 1, 0"})       // an empty version: one empty chunk
    void cutsBucketsIntoChunksAtEverySizeEdge(int tensorBytes, int chunkSize, int chunks, int lastSize) {
        byte[] data = SafetensorsFiles.counting(tensorBytes, 1);
        List<TensorSource> tensors = List.of(TensorSource.ofBytes("w", DType.U8, new long[] {tensorBytes}, data));
        PublishEncoder encoder = encoder(tensors, 1 << 20, chunkSize);
        List<WeightChunk> records = drain(encoder);

        assertThat(records).hasSize(chunks);
        assertThat(encoder.chunkCount()).isEqualTo(chunks);
        for (int i = 0; i < records.size(); i++) {
            WeightChunk c = records.get(i);
            assertThat(c.getChunkIndex()).isEqualTo(i);
            assertThat(c.getChunkCount()).isEqualTo(chunks);
            assertThat(c.getChunkOffset()).isEqualTo((long) i * chunkSize);
            assertThat(c.getPayload().remaining()).isEqualTo(i == chunks - 1 ? lastSize : chunkSize);
        }
        VersionManifest manifest = encoder.manifest();
        assertThat(manifest.getChunkSize()).isEqualTo(chunkSize);
        assertThat(manifest.getBuckets().get(0).getChunkCount()).isEqualTo(chunks);
        ReassembledVersion version = ReassembledVersion.assemble(manifest, records);
        version.assertHoldsExactly(tensors);
    }

    @Test
    void encodesBucketsLazilyWithCoordinatesCrcAndDigestsAConsumerCanCheck() {
        Random random = new Random(1);
        List<TensorSource> tensors = new ArrayList<>();
        DType[] dtypes = {DType.BF16, DType.F32, DType.U8, DType.F64, DType.I16, DType.BOOL};
        for (int i = 0; i < 40; i++) {
            DType dtype = dtypes[i % dtypes.length];
            long[] shape = i % 13 == 0 ? new long[0] : i % 11 == 0 ? new long[] {0, 3} : new long[] {1 + random.nextInt(50), 3};
            byte[] bytes = new byte[(int) (TensorSource.numel("t" + i, shape) * dtype.itemSize())];
            random.nextBytes(bytes);
            tensors.add(TensorSource.ofBytes("layer." + i, dtype, shape, bytes));
        }
        tensors.add(TensorSource.ofBuffer("big.direct", DType.F32, new long[] {300},
                ByteBuffer.allocateDirect(1200).put(SafetensorsFiles.counting(1200, 9)).flip()));
        PublishEncoder encoder = encoder(tensors, 512, 100);
        Iterator<WeightChunk> it = encoder.chunks();
        assertThatThrownBy(encoder::manifest).hasMessageContaining("needs every chunk encoded first");
        List<WeightChunk> chunks = new ArrayList<>();
        it.forEachRemaining(chunks::add);

        VersionManifest manifest = encoder.manifest(123L);
        assertThat(manifest.getModelId()).isEqualTo("llama");
        assertThat(manifest.getStep()).isEqualTo(7);
        assertThat(manifest.getPublishId()).isEqualTo(encoder.publishId());
        assertThat(manifest.getSchemaVersion()).isEqualTo(1);
        assertThat(manifest.getCreatedAtMs()).isEqualTo(123L);
        assertThat(manifest.getBuckets().size()).isGreaterThan(3).isEqualTo(encoder.bucketCount());
        assertThat(chunks).allSatisfy(c -> assertThat(c.getVersionBytes()).isEqualTo(encoder.totalBytes()));
        assertThat(chunks).allSatisfy(c -> assertThat(c.getPublishId()).isEqualTo(encoder.publishId()));
        assertThat(manifest.getBuckets()).filteredOn(b -> b.getSizeBytes() > 512)
                .as("a bucket over the limit holds a single oversized tensor")
                .isNotEmpty()
                .allSatisfy(b -> assertThat(b.getTensors()).filteredOn(t -> t.getNumel() > 0).hasSize(1));

        // any order, with duplicates, reassembles to the same tensors
        List<WeightChunk> shuffled = new ArrayList<>(chunks);
        shuffled.addAll(chunks.subList(0, 5));
        Collections.shuffle(shuffled, new Random(3));
        ReassembledVersion.assemble(manifest, shuffled).assertHoldsExactly(tensors);
    }

    /** Chunks (1000 KiB) that straddle leaves (256 KiB), two buckets, the last leaf of each partial. */
    @Test
    void writesTreeDigestsWithQuarterMebibyteLeavesByDefaultAndFlatOnesWhenAsked() throws Exception {
        byte[] data = new byte[3_000_000];
        new Random(15).nextBytes(data);
        List<TensorSource> tensors = List.of(TensorSource.ofBytes("a", DType.U8, new long[] {1_900_000},
                        java.util.Arrays.copyOf(data, 1_900_000)),
                TensorSource.ofBytes("b", DType.U8, new long[] {1_100_000}, java.util.Arrays.copyOfRange(
                        data, 1_900_000, 3_000_000)));
        PublishEncoder tree = encoder(tensors, 2 << 20, 1_024_000);
        drain(tree);
        VersionManifest manifest = tree.manifest(1);
        assertThat(manifest.getDigestKind()).isEqualTo(DigestKind.SHA256_TREE);
        assertThat(manifest.getLeafSize()).isEqualTo(256 << 10);
        assertThat(manifest.getBuckets()).hasSize(2);
        for (BucketInfo bucket : manifest.getBuckets()) {
            byte[] expected = treeByDefinition(data, (int) bucket.getOffset(), (int) bucket.getSizeBytes(), 256 << 10);
            assertThat(bucket.getSha256()).as("bucket " + bucket.getIndex()).isEqualTo(ByteBuffer.wrap(expected));
        }

        PublishEncoder flat = PublishEncoder.builder().modelId("llama").step(7).tensors(tensors)
                .bucketSizeBytes(2 << 20).chunkSizeBytes(1_024_000).digestScheme(DigestScheme.flat()).build();
        drain(flat);
        VersionManifest old = flat.manifest(1);
        assertThat(old.getDigestKind()).isNull();
        assertThat(old.getLeafSize()).isNull();
        BucketInfo first = old.getBuckets().get(0);
        assertThat(first.getSha256()).isEqualTo(ByteBuffer.wrap(MessageDigest.getInstance("SHA-256").digest(
                java.util.Arrays.copyOfRange(data, 0, (int) first.getSizeBytes()))));
    }

    private static byte[] treeByDefinition(byte[] data, int from, int length, int leaf) throws Exception {
        MessageDigest root = MessageDigest.getInstance("SHA-256");
        for (int at = 0; at < length; at += leaf) {
            MessageDigest one = MessageDigest.getInstance("SHA-256");
            one.update(data, from + at, Math.min(leaf, length - at));
            root.update(one.digest());
        }
        return root.digest();
    }

    @Test
    void aCorruptedPayloadFailsItsCrc() {
        PublishEncoder encoder = encoder(List.of(
                TensorSource.ofBytes("w", DType.U8, new long[] {32}, SafetensorsFiles.counting(32, 0))), 64, 16);
        List<WeightChunk> chunks = drain(encoder);
        ByteBuffer payload = chunks.get(1).getPayload();
        payload.put(3, (byte) (payload.get(3) ^ 1));
        assertThatThrownBy(() -> ReassembledVersion.assemble(encoder.manifest(), chunks))
                .hasMessageContaining("chunk 1 of bucket 0").hasMessageContaining("CRC32C mismatch");
    }

    @Test
    void aFailingSourceSurfacesNamingTheTensorAndPublish() {
        TensorSource failing = new TensorSource("layers.3.mlp", DType.F32, new long[] {64}) {
            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                throw new IOException("device lost");
            }
        };
        PublishEncoder encoder = encoder(List.of(failing), 1024, 64);
        Iterator<WeightChunk> chunks = encoder.chunks();
        assertThatThrownBy(chunks::next).isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("publish " + encoder.publishId())
                .hasMessageContaining("reading tensor layers.3.mlp failed: device lost");
    }

    @Test
    void chunksCanBeTakenOnlyOnce() {
        PublishEncoder encoder = encoder(List.of(
                TensorSource.ofBytes("w", DType.U8, new long[] {1}, new byte[1])), 64, 16);
        encoder.chunks();
        assertThatThrownBy(encoder::chunks).hasMessageContaining("already taken");
    }

    @Test
    void buildsKafkaRecordsWithTheDocumentedTopicsAndKeys() throws Exception {
        PublishEncoder encoder = encoder(List.of(
                TensorSource.ofBytes("a", DType.U8, new long[] {40}, new byte[40]),
                TensorSource.ofBytes("b", DType.U8, new long[] {40}, new byte[40])), 40, 16);
        List<WeightChunk> chunks = drain(encoder);
        TopicNames topics = TopicNames.of("rl");
        ProducerRecord<byte[], byte[]> chunkRecord = PublishRecords.chunkRecord(topics, chunks.get(chunks.size() - 1));
        assertThat(chunkRecord.topic()).isEqualTo("rl.chunks");
        assertThat(new String(chunkRecord.key(), StandardCharsets.UTF_8))
                .isEqualTo("llama/" + encoder.publishId() + "/1");
        assertThat(WireCodec.CHUNK.decode(chunkRecord.value())).isEqualTo(chunks.get(chunks.size() - 1));
        VersionManifest manifest = encoder.manifest();
        ProducerRecord<byte[], byte[]> manifestRecord = PublishRecords.manifestRecord(topics, manifest);
        assertThat(manifestRecord.topic()).isEqualTo("rl.manifests");
        assertThat(new String(manifestRecord.key(), StandardCharsets.UTF_8)).isEqualTo("llama");
        assertThat(WireCodec.MANIFEST.decode(manifestRecord.value())).isEqualTo(manifest);
    }

    @Test
    void rejectsSettingsThatCannotFormAVersion() {
        List<TensorSource> one = List.of(TensorSource.ofBytes("w", DType.U8, new long[] {1}, new byte[1]));
        assertThatThrownBy(() -> PublishEncoder.builder().modelId(" ").step(1).tensors(one).build())
                .hasMessageContaining("must be non-blank");
        assertThatThrownBy(() -> PublishEncoder.builder().modelId("m").tensors(one).build())
                .hasMessageContaining("step of model m must be set");
        assertThatThrownBy(() -> PublishEncoder.builder().modelId("m").step(1).tensors(one).chunkSizeBytes(0).build())
                .hasMessageContaining("chunk size 0");
        TensorSource fourGiB = new TensorSource("w", DType.U8, new long[] {1L << 32}) {
            @Override
            public void read(long offset, ByteBuffer dst) {
                throw new AssertionError("planning must not read");
            }
        };
        assertThatThrownBy(() -> PublishEncoder.builder().modelId("m").step(1).tensors(List.of(fourGiB))
                .chunkSizeBytes(1).build())
                .hasMessageContaining("bucket 0 of 4294967296 bytes needs 4294967296 chunks");
    }
}
