package io.weightpub.job;

import io.weightpub.job.testutils.EngineProcess;
import io.weightpub.job.testutils.OutputTopics;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.job.testutils.RunningJob;
import io.weightpub.job.testutils.TrainerTopics;
import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.sink.SinkOptions;
import io.weightpub.testutils.KafkaClusterExtension;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine bridge through the whole job (MiniCluster, real Kafka, host stores in shared memory):
 * a separate Python engine process per worker maps each active version through the worker's
 * shared-memory file, checks it against the manifest's digests, and acknowledges it; a dead or
 * stuck engine holds a slot no longer than the lease timeout.
 */
class EngineBridgeITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @RegisterExtension
    static final MiniClusterExtension FLINK = RunningJob.miniCluster(4);

    private static final int WORKERS = 2;
    private static final Duration LEASE_TIMEOUT = Duration.ofSeconds(2);

    @TempDir
    Path sockets;

    @Test
    void anEngineProcessPerWorkerMapsEveryVersionAndARollbackBitExactAndTheStatusTopicShowsWhatItServes(
            TestInfo test) throws Exception {
        String prefix = prefix(test);
        Path shm = shmDir(test);
        List<EngineProcess> engines = new ArrayList<>();
        try (TrainerTopics trainer = new TrainerTopics(KAFKA.kafka(), TopicNames.of(prefix));
                RunningJob job = RunningJob.start(conf(prefix, shm, 2))) {
            for (int worker = 0; worker < WORKERS; worker++) {
                engines.add(EngineProcess.start(socket(worker), "llama", "engine-" + worker, "--until-version", "4"));
            }
            List<RandomPublish> versions = new ArrayList<>();
            for (long step = 1; step <= 3; step++) {
                RandomPublish version = version("llama", step);
                versions.add(version);
                trainer.publish(version);
                for (EngineProcess engine : engines) {
                    assertAppliedBitExact(engine.await("applied", step), step, step, version);
                }
            }
            trainer.rollback("llama", 1);
            for (EngineProcess engine : engines) {
                assertAppliedBitExact(engine.await("applied", 4), 4, 1, versions.get(0));
            }

            List<WorkerStatus> statuses = new OutputTopics(KAFKA.kafka(), trainer.topics()).awaitStatuses(
                    "every engine's acknowledgement of version 4",
                    all -> engineStatuses(all, 4).size() >= WORKERS);
            assertThat(engineStatuses(statuses, 4)).extracting(s -> s.getWorker() + "/" + s.getEngine())
                    .containsExactlyInAnyOrder("0/engine-0", "1/engine-1");
            assertThat(engineStatuses(statuses, 4)).allSatisfy(s -> assertThat(s.getContentVersion()).isEqualTo(1));
        } finally {
            for (EngineProcess engine : engines) {
                engine.close();
            }
        }
        try (Stream<Path> left = Files.list(shm)) {
            assertThat(left).as("slot files after the workers are released").isEmpty();
        }
    }

    @Test
    void anEngineThatDiesOrStopsAnsweringHoldsItsSlotsNoLongerThanTheLeaseTimeout(TestInfo test) throws Exception {
        String prefix = prefix(test);
        // Two slots: with both versions leased by a silent engine, a third publish has nowhere to go until a lease ends.
        try (TrainerTopics trainer = new TrainerTopics(KAFKA.kafka(), TopicNames.of(prefix));
                RunningJob job = RunningJob.start(conf(prefix, shmDir(test), 2));
                EngineProcess killed = EngineProcess.start(socket(0), "qwen", "killed", "--hold");
                EngineProcess silent = EngineProcess.start(socket(1), "qwen", "silent", "--hold")) {
            trainer.publish(version("qwen", 1));
            killed.await("offered", 1);
            silent.await("offered", 1);
            trainer.publish(version("qwen", 2));
            killed.await("offered", 2);
            silent.await("offered", 2);

            killed.kill();
            RandomPublish v3 = version("qwen", 3);
            trainer.publish(v3);
            job.awaitVersionOnAllWorkers("qwen", 3);

            silent.await("revoked", 1);
            for (int worker = 0; worker < WORKERS; worker++) {
                assertThat(job.activeBytes(worker, "qwen")).isEqualTo(v3.expectedBytes());
            }
            List<WorkerStatus> statuses = new OutputTopics(KAFKA.kafka(), trainer.topics()).awaitStatuses(
                    "the silent engine's revoked lease", all -> all.stream().anyMatch(s -> "silent".equals(
                            s.getEngine()) && s.getVersion() == 1 && s.getState() == VersionState.FAILED));
            assertThat(statuses).filteredOn(s -> "silent".equals(s.getEngine()) && s.getVersion() == 1)
                    .anySatisfy(s -> assertThat(s.getMessage()).contains("revoked").contains("held longer than"));
        }
    }

    /** The engine's digest of each tensor, as mapped, equals that of the published tensor's bytes. */
    private static void assertAppliedBitExact(JsonNode applied, long version, long contentVersion,
            RandomPublish content) throws Exception {
        assertThat(applied.path("contentVersion").asLong()).as("content version of %d", version)
                .isEqualTo(contentVersion);
        Map<String, String> expected = tensorDigests(content);
        Map<String, String> actual = new LinkedHashMap<>();
        applied.path("tensors").fields().forEachRemaining(e -> actual.put(e.getKey(), e.getValue().asText()));
        assertThat(actual).as("tensor digests of version %d", version).isEqualTo(expected);
    }

    private static Map<String, String> tensorDigests(RandomPublish version) throws Exception {
        Map<String, String> digests = new LinkedHashMap<>();
        byte[] bytes = version.expectedBytes();
        for (BucketInfo bucket : version.manifest().getBuckets()) {
            for (TensorMeta tensor : bucket.getTensors()) {
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                sha.update(bytes, Math.toIntExact(bucket.getOffset() + tensor.getStartIdx()),
                        Math.toIntExact(tensor.getEndIdx() - tensor.getStartIdx()));
                digests.put(tensor.getName().toString(), HexFormat.of().formatHex(sha.digest()));
            }
        }
        return digests;
    }

    private static List<WorkerStatus> engineStatuses(List<WorkerStatus> statuses, long version) {
        return statuses.stream()
                .filter(s -> s.getEngine() != null && s.getVersion() == version && s.getState() == VersionState.ACTIVE)
                .toList();
    }

    private Configuration conf(String prefix, Path shm, int slots) {
        Configuration conf = RunningJob.testConfiguration(KAFKA.bootstrapServers(), prefix, WORKERS);
        conf.set(SinkOptions.SLOTS_PER_MODEL, slots);
        conf.set(SinkOptions.RESIDENT_VERSIONS, 0);
        conf.set(SinkOptions.ENGINE_SOCKET_PATH, sockets.resolve("worker-{worker}.sock").toString());
        conf.set(SinkOptions.ENGINE_LEASE_TIMEOUT, LEASE_TIMEOUT);
        conf.set(SinkOptions.HOST_SHARED_MEMORY_DIRECTORY, shm.toString());
        return conf;
    }

    private Path socket(int worker) {
        return sockets.resolve("worker-" + worker + ".sock");
    }

    /** A fresh directory for the test's slot files: in /dev/shm where there is one, as in production. */
    private Path shmDir(TestInfo test) throws Exception {
        Path base = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : sockets;
        return Files.createTempDirectory(base, "weightpub-" + test.getTestMethod().orElseThrow().getName() + "-");
    }

    private static String prefix(TestInfo test) {
        return "eng-" + test.getTestMethod().orElseThrow().getName().hashCode();
    }

    private static RandomPublish version(String model, long step) {
        return RandomPublish.create(model, step, model.hashCode() * 31L + step, 24, 16_000, 64 * 1024, 8 * 1024);
    }
}
