package io.weightpub.job;

import io.weightpub.job.source.InputRecord;
import io.weightpub.job.testutils.HostileRecords.Expect;
import io.weightpub.job.testutils.HostileRecords.Hostile;
import io.weightpub.job.testutils.HostileRecords.Raw;
import io.weightpub.job.testutils.HostileRecords;
import io.weightpub.job.testutils.OutputTopics;
import io.weightpub.job.testutils.RunningJob;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.job.testutils.TrainerTopics;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.store.ActiveVersion;
import io.weightpub.testutils.KafkaClusterExtension;

import net.jqwik.api.Arbitrary;
import net.jqwik.engine.SourceOfRandomness;

import org.apache.flink.api.common.JobID;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.runtime.rest.messages.EmptyRequestBody;
import org.apache.flink.runtime.rest.messages.JobExceptionsHeaders;
import org.apache.flink.runtime.rest.messages.JobExceptionsInfoWithHistory;
import org.apache.flink.runtime.rest.messages.job.JobExceptionsMessageParameters;
import org.apache.flink.test.junit5.InjectClusterClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A sample of the hostile-input suite against the real job: a few hundred hostile chunks,
 * manifests, control records and oddly keyed records go through Kafka into the job on a
 * MiniCluster, then a valid version is published. It must become active with the right bytes on
 * both workers, every bad record must be dead-lettered exactly once, and the job must never have
 * restarted (a restart would also re-read and repeat dead letters).
 */
class HostileInputITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @RegisterExtension
    static final MiniClusterExtension FLINK = RunningJob.miniCluster(4);

    private static final int WORKERS = 2;
    private static final long SEED = Long.getLong("hostile.seed", 20261201L);

    @Test
    void hostileRecordsAreDeadLetteredOnceWithoutARestartAndTheNextVersionIsActiveOnEveryWorker(
            @InjectClusterClient RestClusterClient<?> cluster) throws Exception {
        TopicNames topics = TopicNames.of("it-hostile");
        String model = HostileRecords.MODEL;
        List<Raw> hostile = sample(new Random(SEED));
        try (TrainerTopics trainer = new TrainerTopics(KAFKA.kafka(), topics);
                KafkaProducer<byte[], byte[]> producer = producer();
                RunningJob job = RunningJob.start(
                        RunningJob.testConfiguration(KAFKA.bootstrapServers(), topics.prefix(), WORKERS))) {
            RandomPublish first = RandomPublish.create(model, 100, 1, 20, 20_000, 64 * 1024, 8 * 1024);
            trainer.publish(first);
            job.awaitVersionOnAllWorkers(model, 1);

            Set<String> expectedLetters = new java.util.HashSet<>();
            Random partitions = new Random(SEED);
            for (Raw raw : hostile) {
                String topic = raw.kind() == InputRecord.Kind.CHUNK ? topics.chunks()
                        : raw.kind() == InputRecord.Kind.MANIFEST ? topics.manifests() : topics.control();
                int partition = raw.kind() == InputRecord.Kind.CHUNK
                        ? partitions.nextInt(TrainerTopics.CHUNK_PARTITIONS) : 0;
                RecordMetadata sent = producer.send(new ProducerRecord<>(topic, partition, raw.key(), raw.value()))
                        .get();
                if (raw.expect() == Expect.DEAD_LETTER) {
                    expectedLetters.add(topic + "/" + sent.partition() + "@" + sent.offset());
                }
            }
            // A step just after the hostile ones: within any sane bound on how far a step may jump.
            RandomPublish next = RandomPublish.create(model, 1000 + hostile.size() + 1, 2, 20, 20_000, 64 * 1024,
                    8 * 1024);
            trainer.publish(next);
            job.awaitVersionOnAllWorkers(model, 2);

            for (int worker = 0; worker < WORKERS; worker++) {
                try (ActiveVersion lease = job.lease(worker, model)) {
                    assertThat(lease.info().publishId()).as("worker %d", worker).isEqualTo(next.publishId());
                }
                assertThat(job.activeBytes(worker, model)).as("worker %d", worker).isEqualTo(next.expectedBytes());
            }
            OutputTopics out = new OutputTopics(KAFKA.kafka(), topics);
            assertThat(out.versionIndex()).filteredOn(e -> e.getPublishId().equals(next.publishId()))
                    .singleElement().extracting(VersionIndexEntry::getBucketSha256)
                    .isEqualTo(next.manifest().getBuckets().stream().map(b -> b.getSha256())
                            .collect(Collectors.toList()));
            try {
                RunningJob.await(expectedLetters.size() + " dead letters",
                        () -> out.deadLetters().size() >= expectedLetters.size());
            } catch (AssertionError tooFew) {
                // Compared below, naming the records that were not dead-lettered.
            }
            List<String> letters = out.deadLetters().stream()
                    .map(HostileInputITCase::coordinates).collect(Collectors.toList());
            System.out.printf("hostile-input ITCase: %d records (seed %d), %d dead letters expected, %d written%n",
                    hostile.size(), SEED, expectedLetters.size(), letters.size());
            assertThat(letters).as("one dead letter per bad record, none repeated").doesNotHaveDuplicates()
                    .containsExactlyInAnyOrderElementsOf(expectedLetters);
            assertThat(failures(cluster, job.client().getJobID())).as("failures the job restarted from").isZero();
        }
    }

    /** A few hundred hostile records of every family, drawn with jqwik's random seeded from {@link #SEED}. */
    private static List<Raw> sample(Random random) {
        // Outside a property jqwik samples from its thread's current random: seed it.
        SourceOfRandomness.create(Long.toString(SEED));
        List<Raw> records = new ArrayList<>();
        HostileRecords.Fresh fresh = new HostileRecords.Fresh() {
            private int publishes;
            private long step = 1000;

            @Override
            public String publishId() {
                return "it-hostile-" + (++publishes);
            }

            @Override
            public long step() {
                return ++step;
            }
        };
        addSample(records, HostileRecords.chunks(), 100, fresh);
        addSample(records, HostileRecords.manifests(), 80, fresh);
        addSample(records, HostileRecords.controls(), 40, fresh);
        addSample(records, HostileRecords.keysAndValues(), 60, fresh);
        addSample(records, HostileRecords.emptyValues(), 20, fresh);
        java.util.Collections.shuffle(records, random);
        return records;
    }

    private static void addSample(List<Raw> records, Arbitrary<Hostile> family, int count,
            HostileRecords.Fresh fresh) {
        family.sampleStream().limit(count).forEach(hostile -> records.addAll(hostile.make().apply(fresh)));
    }

    private static String coordinates(DeadLetter letter) {
        return letter.getTopic() + "/" + letter.getPartition() + "@" + letter.getOffset();
    }

    /** Failures in the job's exception history: each one restarted it. */
    private static int failures(RestClusterClient<?> cluster, JobID job) throws Exception {
        JobExceptionsMessageParameters parameters = new JobExceptionsMessageParameters();
        parameters.jobPathParameter.resolve(job);
        JobExceptionsInfoWithHistory exceptions = cluster.sendRequest(
                JobExceptionsHeaders.getInstance(), parameters, EmptyRequestBody.getInstance()).get();
        return exceptions.getExceptionHistory().getEntries().size();
    }

    private static KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all"),
                new ByteArraySerializer(), new ByteArraySerializer());
    }
}
