package io.weightpub.job;

import io.weightpub.job.testutils.OutputTopics;
import io.weightpub.job.testutils.RunningJob;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.job.testutils.TrainerTopics.SendPlan;
import io.weightpub.job.testutils.TrainerTopics;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.schemas.signing.KeyFiles;
import io.weightpub.schemas.signing.RecordSigner;
import io.weightpub.schemas.signing.SigningKey;
import io.weightpub.sink.SinkSecurityOptions;
import io.weightpub.store.ActiveVersion;
import io.weightpub.testutils.KafkaClusterExtension;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Signed publishes through the whole job on a MiniCluster and real Kafka, with publisher and
 * operator keys configured on the job and the publisher keys on the workers: only manifests a
 * trusted publisher key signed become versions, and only signed rollbacks are obeyed. Everything
 * refused is dead-lettered with its reason, says REJECTED, and never becomes active on a worker.
 */
class SignedPublishingJobITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @RegisterExtension
    static final MiniClusterExtension FLINK = RunningJob.miniCluster(4);

    private static final long BUCKET = 64 * 1024;
    private static final int CHUNK = 8 * 1024;
    private static final int WORKERS = 2;

    @TempDir
    Path dir;

    @Test
    void onlyManifestsATrustedPublisherKeySignedForThatPublishBecomeActive(TestInfo test) throws Exception {
        Keys keys = keys();
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(conf(prefix, keys))) {
            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            RandomPublish v1 = version("llama", 1);
            trainer.send(v1, SendPlan.inOrder().withManifest(keys.trainer.sign(v1.manifest())));
            job.awaitVersionOnAllWorkers("llama", 1);
            assertServes(job, "llama", 1, v1);

            RandomPublish unsigned = version("llama", 2);
            trainer.publish(unsigned);
            RandomPublish unknownKey = version("llama", 3);
            trainer.send(unknownKey, SendPlan.inOrder().withManifest(keys.stranger.sign(unknownKey.manifest())));
            RandomPublish altered = version("llama", 4);
            trainer.send(altered, SendPlan.inOrder().withManifest(alterBucketDigest(
                    keys.trainer.sign(altered.manifest()))));
            // v1's signed manifest again under a new publish id, with chunks under that id: its signature no
            // longer covers what it says.
            RandomPublish replayed = version("llama", 5);
            VersionManifest oldManifest = VersionManifest.newBuilder(keys.trainer.sign(v1.manifest()))
                    .setPublishId(replayed.publishId()).build();
            trainer.send(replayed, SendPlan.inOrder().withManifest(oldManifest));

            List<WorkerStatus> rejected = awaitRejected(out, "llama", List.of(unsigned.publishId(),
                    unknownKey.publishId(), altered.publishId(), replayed.publishId()));
            assertThat(reason(rejected, unsigned)).contains("is unsigned; publisher signatures are required");
            assertThat(reason(rejected, unknownKey)).contains("signed by unknown publisher key '"
                    + keys.stranger.keyId() + "'");
            assertThat(reason(rejected, altered)).contains("bad signature for publisher key '"
                    + keys.trainer.keyId() + "'");
            assertThat(reason(rejected, replayed)).contains("bad signature");
            List<DeadLetter> letters = out.deadLetters();
            for (RandomPublish refused : List.of(unsigned, unknownKey, altered, replayed)) {
                assertThat(letters).as("dead letter of publish %s", refused.publishId())
                        .anySatisfy(l -> {
                            assertThat(l.getPublishId()).isEqualTo(refused.publishId());
                            assertThat(l.getTopic()).isEqualTo(trainer.topics().manifests());
                            assertThat(l.getReason()).isEqualTo(reason(rejected, refused));
                        });
            }

            RandomPublish v6 = version("llama", 6);
            trainer.send(v6, SendPlan.inOrder().withManifest(keys.trainer.sign(v6.manifest())));
            job.awaitVersionOnAllWorkers("llama", 2);
            assertServes(job, "llama", 2, v6);
            for (int worker = 0; worker < WORKERS; worker++) {
                assertThat(job.store(worker).orElseThrow().status("llama").staged())
                        .as("worker %d keeps no slot of a refused publish", worker).isEmpty();
            }
            List<WorkerStatus> all = out.awaitStatuses("every worker reports the last publish committed", statuses ->
                    statuses.stream().filter(s -> s.getWorker() >= 0 && s.getState() == VersionState.COMMITTED
                            && s.getPublishId().equals(v6.publishId())).count() >= WORKERS);
            assertThat(all).filteredOn(s -> s.getWorker() >= 0 && s.getState() == VersionState.COMMITTED)
                    .extracting(WorkerStatus::getPublishId)
                    .containsOnly(v1.publishId(), v6.publishId());
            assertThat(out.versionIndex()).extracting(VersionIndexEntry::getPublishId, VersionIndexEntry::getKeyId)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(v1.publishId(), keys.trainer.keyId()),
                            org.assertj.core.groups.Tuple.tuple(v6.publishId(), keys.trainer.keyId()));
        }
    }

    @Test
    void anUnsignedRollbackIsRefusedAndASignedOneIsAppliedOnEveryWorker(TestInfo test) throws Exception {
        Keys keys = keys();
        String prefix = prefix(test);
        try (TrainerTopics trainer = trainer(prefix); RunningJob job = RunningJob.start(conf(prefix, keys))) {
            OutputTopics out = new OutputTopics(KAFKA.kafka(), trainer.topics());
            RandomPublish v1 = version("qwen", 1);
            trainer.send(v1, SendPlan.inOrder().withManifest(keys.trainer.sign(v1.manifest())));
            job.awaitVersionOnAllWorkers("qwen", 1);
            RandomPublish v2 = version("qwen", 2);
            trainer.send(v2, SendPlan.inOrder().withManifest(keys.trainer.sign(v2.manifest())));
            job.awaitVersionOnAllWorkers("qwen", 2);

            ControlRecord unsigned = rollback("qwen", 1);
            trainer.control(unsigned);
            List<WorkerStatus> refused = out.awaitStatuses("the unsigned rollback is refused", statuses -> statuses
                    .stream().anyMatch(s -> s.getState() == VersionState.REJECTED
                            && s.getMessage().contains(unsigned.getRequestId())));
            assertThat(refused).filteredOn(s -> s.getState() == VersionState.REJECTED).singleElement()
                    .satisfies(s -> assertThat(s.getMessage()).contains("is unsigned; operator signatures are required"));
            RunningJob.await("the unsigned rollback is dead-lettered", () -> !out.deadLetters().isEmpty());
            assertThat(out.deadLetters()).singleElement().satisfies(l -> {
                assertThat(l.getTopic()).isEqualTo(trainer.topics().control());
                assertThat(l.getReason()).contains("ROLLBACK request " + unsigned.getRequestId(), "unsigned");
            });

            // A publisher key is no operator key.
            trainer.control(keys.trainer.sign(rollback("qwen", 1)));
            trainer.control(keys.operator.sign(rollback("qwen", 1)));
            job.awaitVersionOnAllWorkers("qwen", 3);
            for (int worker = 0; worker < WORKERS; worker++) {
                try (ActiveVersion lease = job.lease(worker, "qwen")) {
                    assertThat(lease.info().version()).isEqualTo(3);
                    assertThat(lease.info().contentVersion()).isEqualTo(1);
                }
                assertThat(job.activeBytes(worker, "qwen")).isEqualTo(v1.expectedBytes());
            }
            assertThat(out.statuses()).filteredOn(s -> s.getState() == VersionState.REJECTED).hasSize(2);
            assertThat(out.versionIndex()).filteredOn(e -> e.getVersion() == 3).singleElement()
                    .satisfies(e -> assertThat(e.getKeyId()).isEqualTo(keys.trainer.keyId()));
        }
    }

    /** The trainer's and the operator's keys, trusted by the job (and the trainer's by the workers), and a stranger's. */
    private record Keys(RecordSigner trainer, RecordSigner operator, RecordSigner stranger, Path trainerPublic,
            Path operatorPublic) {}

    private Keys keys() throws Exception {
        SigningKey trainer = SigningKey.generate().withKeyId("trainer-1");
        SigningKey operator = SigningKey.generate().withKeyId("operator-1");
        KeyFiles.Written trainerFiles = KeyFiles.write(trainer, dir.resolve("trainer"), "trainer", List.of());
        KeyFiles.Written operatorFiles = KeyFiles.write(operator, dir.resolve("operator"), "operator", List.of());
        return new Keys(new RecordSigner(trainer), new RecordSigner(operator),
                new RecordSigner(SigningKey.generate().withKeyId("stranger")), trainerFiles.publicKey(),
                operatorFiles.publicKey());
    }

    private static Configuration conf(String prefix, Keys keys) {
        Configuration conf = RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, WORKERS);
        conf.set(SecurityOptions.PUBLISHER_KEYS, keys.trainerPublic().toString());
        conf.set(SecurityOptions.OPERATOR_KEYS, keys.operatorPublic().toString());
        conf.set(SinkSecurityOptions.PUBLISHER_KEYS, keys.trainerPublic().toString());
        return conf;
    }

    /** The manifest with bucket 0's SHA-256 changed after it was signed. */
    private static VersionManifest alterBucketDigest(VersionManifest signed) throws Exception {
        List<BucketInfo> buckets = new ArrayList<>(signed.getBuckets());
        byte[] other = MessageDigest.getInstance("SHA-256").digest("other weights".getBytes());
        buckets.set(0, BucketInfo.newBuilder(buckets.get(0)).setSha256(ByteBuffer.wrap(other)).build());
        return VersionManifest.newBuilder(signed).setBuckets(buckets).build();
    }

    private static ControlRecord rollback(String model, long target) {
        return ControlRecord.newBuilder()
                .setModelId(model)
                .setAction(ControlAction.ROLLBACK)
                .setTargetVersion(target)
                .setRequestId(UUID.randomUUID().toString())
                .setReason("test")
                .setRequestedAtMs(System.currentTimeMillis())
                .build();
    }

    private static List<WorkerStatus> awaitRejected(OutputTopics out, String model, List<String> publishIds)
            throws InterruptedException {
        return out.awaitStatuses("publishes " + publishIds + " are REJECTED", statuses -> publishIds.stream()
                .allMatch(id -> statuses.stream().anyMatch(s -> s.getModelId().equals(model)
                        && s.getPublishId().equals(id) && s.getState() == VersionState.REJECTED)));
    }

    private static String reason(List<WorkerStatus> statuses, RandomPublish version) {
        return statuses.stream()
                .filter(s -> s.getPublishId().equals(version.publishId()) && s.getState() == VersionState.REJECTED)
                .findFirst().orElseThrow().getMessage();
    }

    private static void assertServes(RunningJob job, String model, long version, RandomPublish content)
            throws Exception {
        byte[] expected = MessageDigest.getInstance("SHA-256").digest(content.expectedBytes());
        for (int worker = 0; worker < WORKERS; worker++) {
            try (ActiveVersion lease = job.lease(worker, model)) {
                assertThat(lease.info().version()).as("worker %d", worker).isEqualTo(version);
                assertThat(lease.info().publishId()).isEqualTo(content.publishId());
            }
            assertThat(MessageDigest.getInstance("SHA-256").digest(job.activeBytes(worker, model)))
                    .as("digest of worker %d", worker).isEqualTo(expected);
        }
    }

    private static RandomPublish version(String model, long step) {
        return RandomPublish.create(model, step, model.hashCode() + step, 30, 20_000, BUCKET, CHUNK);
    }

    private static TrainerTopics trainer(String prefix) {
        return new TrainerTopics(KAFKA.kafka(), TopicNames.of(prefix));
    }

    private static String prefix(TestInfo test) {
        return "sig-" + test.getTestMethod().orElseThrow().getName().substring(0, 24).toLowerCase();
    }
}
