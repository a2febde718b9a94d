package io.weightpub.job;

import io.weightpub.job.testutils.OutputTopics;
import io.weightpub.job.testutils.RunningJob;
import io.weightpub.job.testutils.TrainerTopics;
import io.weightpub.publisher.DType;
import io.weightpub.publisher.PublishEncoder;
import io.weightpub.publisher.PublishPlan;
import io.weightpub.publisher.ShardResult;
import io.weightpub.publisher.TensorSource;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.testutils.KafkaClusterExtension;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Several trainer ranks publish one version through the real publisher (each rank its shard, rank
 * 0 the manifest once every shard is committed) and the real job applies it; a publish whose
 * rank died before its shard was committed is timed out and aborted, and the next one applies.
 */
class RankPublishingJobITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @RegisterExtension
    static final MiniClusterExtension FLINK = RunningJob.miniCluster(4);

    private static final long BUCKET = 16 * 1024;
    private static final int CHUNK = 4 * 1024;

    private static List<TensorSource> tensors(long seed) {
        Random random = new Random(seed);
        List<TensorSource> tensors = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            byte[] bytes = new byte[2000 + random.nextInt(6000) * 2];
            random.nextBytes(bytes);
            tensors.add(TensorSource.ofBytes("layers." + i + ".weight", DType.BF16, new long[] {bytes.length / 2}, bytes));
        }
        return tensors;
    }

    /** The version's bytes as the publisher lays them out (buckets end to end, padding zero). */
    private static byte[] expectedBytes(List<TensorSource> tensors) {
        PublishEncoder encoder = PublishEncoder.builder().modelId("m").step(1).tensors(tensors)
                .bucketSizeBytes(BUCKET).chunkSizeBytes(CHUNK).build();
        byte[] expected = new byte[Math.toIntExact(encoder.totalBytes())];
        for (Iterator<WeightChunk> it = encoder.chunks(); it.hasNext(); ) {
            WeightChunk c = it.next();
            c.getPayload().duplicate().get(expected, Math.toIntExact(c.getBucketOffset() + c.getChunkOffset()),
                    c.getPayload().remaining());
        }
        return expected;
    }

    private static WeightPublisher rank(String prefix, int rank) {
        return WeightPublisher.builder().bootstrapServers(KAFKA.bootstrapServers()).topicPrefix(prefix)
                .transactionalId(prefix + "-rank" + rank).producers(2).bucketSizeBytes(BUCKET).chunkSizeBytes(CHUNK)
                .build();
    }

    /** Rank {@code rank}'s shard, from the bytes of its own tensors only. */
    private static ShardResult shard(WeightPublisher publisher, PublishPlan plan, int rank, List<TensorSource> tensors) {
        List<String> own = plan.tensors(rank);
        return publisher.publishShard(plan, rank, tensors.stream().filter(t -> own.contains(t.name())).toList());
    }

    @Test
    void twoRanksPublishOneVersionThatBecomesActiveBitExactAfterARankThatDiedIsAborted() throws Exception {
        String prefix = "it-ranks";
        Configuration conf = RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, 2);
        conf.set(JobOptions.PUBLISH_TIMEOUT, Duration.ofSeconds(3));
        List<TensorSource> tensors = tensors(7);
        List<TensorSource> specs = tensors.stream().map(t -> TensorSource.spec(t.name(), t.dtype(), t.shape())).toList();
        try (TrainerTopics trainer = new TrainerTopics(KAFKA.kafka(), TopicNames.of(prefix));
                RunningJob job = RunningJob.start(conf);
                WeightPublisher rank0 = rank(prefix, 0);
                WeightPublisher rank1 = rank(prefix, 1)) {
            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            // Rank 1 dies before publishing its shard: rank 0's shard is committed, no manifest follows.
            PublishPlan died = rank0.planPublish("m", 1, "step1-attempt1", specs, 2);
            shard(rank0, died, 0, tensors);
            RunningJob.await("the publish a dead rank left incomplete is aborted",
                    () -> jobStatuses(out, "step1-attempt1").contains(VersionState.ABORTED));
            assertThat(job.activeVersion(0, "m")).isEqualTo(-1);

            // The ranks restart and publish the step again under a new publish id.
            PublishPlan plan0 = rank0.planPublish("m", 1, "step1-attempt2", specs, 2);
            PublishPlan plan1 = rank1.planPublish("m", 1, "step1-attempt2", specs, 2);
            assertThat(plan0.tensors(0)).isNotEmpty();
            assertThat(plan0.tensors(1)).isNotEmpty();
            List<ShardResult> gathered = List.of(
                    ShardResult.parse(shard(rank0, plan0, 0, tensors).encode()),
                    ShardResult.parse(shard(rank1, plan1, 1, tensors).encode()));
            rank0.publishManifest(plan0, gathered);

            job.awaitVersionOnAllWorkers("m", 1);
            for (int worker = 0; worker < 2; worker++) {
                assertThat(job.activeBytes(worker, "m")).as("worker %d", worker).isEqualTo(expectedBytes(tensors));
            }
            assertThat(jobStatuses(out, "step1-attempt2")).contains(VersionState.COMPLETED);
            assertThat(out.deadLetters()).isEmpty();
        }
    }

    private static List<VersionState> jobStatuses(OutputTopics out, String publishId) {
        return out.statuses().stream()
                .filter(s -> s.getWorker() == -1 && s.getPublishId().equals(publishId))
                .map(WorkerStatus::getState)
                .toList();
    }
}
