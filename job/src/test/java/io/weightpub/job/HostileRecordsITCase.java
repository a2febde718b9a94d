package io.weightpub.job;

import io.weightpub.job.testutils.OutputTopics;
import io.weightpub.job.testutils.RunningJob;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.job.testutils.TrainerTopics;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.testutils.KafkaClusterExtension;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Records with any Kafka key and value, and records whose declared counts are absurd, on the real
 * job: each is dead-lettered exactly once (a restart would re-read and repeat some), the job keeps
 * running, and a valid publish after them becomes active on every worker with its bytes.
 */
class HostileRecordsITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @RegisterExtension
    static final MiniClusterExtension FLINK = RunningJob.miniCluster(4);

    private static final String MODEL = "llama";
    private static final int WORKERS = 2;

    @Test
    void anyKeyAndValueIsDeadLetteredOnceAndTheNextPublishStillApplies() throws Exception {
        TopicNames topics = TopicNames.of("it-hostile");
        try (TrainerTopics trainer = new TrainerTopics(KAFKA.kafka(), topics);
                RunningJob job = RunningJob.start(
                        RunningJob.testConfiguration(KAFKA.bootstrapServers(), topics.prefix(), WORKERS))) {
            RandomPublish good = RandomPublish.create(MODEL, 10, 41, 30, 20_000, 64 * 1024, 8 * 1024);
            byte[] validChunk = WireCodec.CHUNK.encode(good.chunks().get(0));
            byte[] huge = new byte[900 * 1024];
            new Random(1).nextBytes(huge);
            List<Runnable> hostile = List.of(
                    () -> trainer.sendRaw(topics.chunks(), null, null),
                    () -> trainer.sendRaw(topics.chunks(), null, "garbage".getBytes(StandardCharsets.UTF_8)),
                    () -> trainer.sendRaw(topics.chunks(), utf8(MODEL), validChunk), // keyed by the model only
                    () -> trainer.sendRaw(topics.chunks(), utf8(MODEL), null),
                    () -> trainer.sendRaw(topics.chunks(), utf8(MODEL + "/p/0"), new byte[0]),
                    () -> trainer.sendRaw(topics.chunks(), new byte[0], validChunk),
                    () -> trainer.sendRaw(topics.chunks(), utf8(MODEL + "/x/0"), huge),
                    () -> trainer.sendRaw(topics.chunks(), utf8(MODEL + "/twobillion/0"), WireCodec.CHUNK.encode(
                            chunk("twobillion", 1).setBucketCount(Integer.MAX_VALUE).build())),
                    () -> trainer.sendRaw(topics.chunks(), utf8(MODEL + "/bitmap/0"), WireCodec.CHUNK.encode(
                            chunk("bitmap", 1).setChunkCount(Integer.MAX_VALUE).setBucketSize(Integer.MAX_VALUE)
                                    .setVersionBytes(Integer.MAX_VALUE).build())),
                    () -> trainer.sendRaw(topics.manifests(), null, manifestClaimingBuckets(Integer.MAX_VALUE)),
                    () -> trainer.sendRaw(topics.manifests(), utf8(MODEL), manifestClaimingBuckets(Integer.MAX_VALUE - 8)),
                    () -> trainer.sendRaw(topics.manifests(), utf8(MODEL), null),
                    () -> trainer.sendRaw(topics.control(), null, new byte[] {(byte) 0xC3, 1}),
                    () -> trainer.sendRaw(topics.control(), utf8(MODEL), validChunk));
            hostile.forEach(Runnable::run);

            trainer.publish(good);
            job.awaitVersionOnAllWorkers(MODEL, 1);
            for (int worker = 0; worker < WORKERS; worker++) {
                assertThat(job.activeBytes(worker, MODEL)).as("worker %d", worker).isEqualTo(good.expectedBytes());
            }

            OutputTopics out = new OutputTopics(KAFKA.kafka(), topics);
            RunningJob.await("every hostile record is dead-lettered", () -> out.deadLetters().size() >= hostile.size());
            // One more checkpoint's worth of time: a repeated dead letter would show up now.
            Thread.sleep(2_000);
            List<DeadLetter> letters = out.deadLetters();
            Set<String> coordinates = letters.stream()
                    .map(l -> l.getTopic() + "/" + l.getPartition() + "@" + l.getOffset())
                    .collect(Collectors.toSet());
            assertThat(letters).hasSize(hostile.size());
            assertThat(coordinates).hasSize(hostile.size());
            assertThat(letters).allSatisfy(letter -> assertThat(letter.getReason()).isNotBlank());
            assertThat(out.readAll(topics.deadLetters())).allSatisfy(record -> assertThat(record.key()).isNotNull());
            assertThat(job.client().getJobStatus().get(10, TimeUnit.SECONDS)).isEqualTo(JobStatus.RUNNING);
        }
    }

    private static WeightChunk.Builder chunk(String publishId, int payloadBytes) {
        byte[] payload = new byte[payloadBytes];
        CRC32C crc = new CRC32C();
        crc.update(payload);
        return WeightChunk.newBuilder().setModelId(MODEL).setStep(5).setPublishId(publishId).setBucketIndex(0)
                .setBucketCount(1).setChunkIndex(0).setChunkCount(1).setBucketOffset(0).setBucketSize(payloadBytes)
                .setChunkOffset(0).setVersionBytes(payloadBytes).setCrc32c((int) crc.getValue())
                .setPayload(ByteBuffer.wrap(payload));
    }

    /** A manifest of the current schema cut right after its bucket count: a few bytes claiming {@code buckets}. */
    private static byte[] manifestClaimingBuckets(long buckets) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(WireCodec.MANIFEST.encode(VersionManifest.newBuilder().setModelId(MODEL)
                .setStep(1).setPublishId("p").setTotalBytes(8).setChunkSize(8).setBuckets(List.of())
                .setCreatedAtMs(0).build()), 0, 10);
        for (byte[] field : List.of(avroString(MODEL), avroLong(1), avroString("m"), avroLong(1), avroLong(8),
                avroLong(8), avroLong(buckets))) {
            out.write(field, 0, field.length);
        }
        return out.toByteArray();
    }

    private static byte[] avroLong(long value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long zigzag = (value << 1) ^ (value >> 63);
        while ((zigzag & ~0x7FL) != 0) {
            out.write((int) ((zigzag & 0x7F) | 0x80));
            zigzag >>>= 7;
        }
        out.write((int) zigzag);
        return out.toByteArray();
    }

    private static byte[] avroString(String text) {
        byte[] bytes = utf8(text);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] length = avroLong(bytes.length);
        out.write(length, 0, length.length);
        out.write(bytes, 0, bytes.length);
        return out.toByteArray();
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
