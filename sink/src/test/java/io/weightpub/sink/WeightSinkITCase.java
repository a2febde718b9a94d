package io.weightpub.sink;

import io.weightpub.events.WeightEvent;
import io.weightpub.events.WeightEventTypeInfo;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.store.ActiveVersion;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.WeightStore;
import io.weightpub.testutils.KafkaClusterExtension;
import io.weightpub.testutils.TestVersion;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The sink in a real Flink runtime with three workers, status records in a real Kafka. */
class WeightSinkITCase {

    private static final int WORKERS = 3;
    // An "org/name" id, as Hugging Face names models: it travels percent-encoded in worker URLs.
    private static final String MODEL = "org/llm";
    private static final int BUCKETS = 3;
    private static final int BUCKET_BYTES = 96 * 1024;
    private static final int CHUNK_BYTES = 64 * 1024;

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(WORKERS)
            .build());

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    private final List<String> sinks = new ArrayList<>();

    @AfterEach
    void releaseWorkers() {
        sinks.forEach(WeightSink::release);
    }

    private WeightSinkBuilder sink(String name, String statusTopic) {
        sinks.add(name);
        KAFKA.createTopic(statusTopic, 1, Map.of());
        return WeightSink.builder().name(name).backend(StoreBackend.HOST).statusTopic(statusTopic,
                KAFKA.bootstrapServers());
    }

    private static JobClient start(WeightSink sink, VersionEvents events, int versions, double eventsPerSecond)
            throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        env.enableCheckpointing(100);
        DataGeneratorSource<WeightEvent> source = new DataGeneratorSource<>(events,
                (long) versions * events.eventsPerVersion(), RateLimiterStrategy.perSecond(eventsPerSecond),
                WeightEventTypeInfo.INSTANCE);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "versions")
                .broadcast()
                .sinkTo(sink)
                .name("weights")
                .setParallelism(WORKERS);
        return env.executeAsync("weight sink test");
    }

    @Test
    void threeWorkersFlipToTheSameVersionBitExactAndReportStatus() throws Exception {
        String topic = "status-same-version";
        WeightSink sink = sink("same-version", topic).slotsPerModel(3).build();
        VersionEvents events = new VersionEvents(MODEL, BUCKETS, BUCKET_BYTES, CHUNK_BYTES, -1);
        int versions = 4;

        start(sink, events, versions, 40).getJobExecutionResult().get(2, TimeUnit.MINUTES);

        TestVersion last = events.version(versions);
        for (int worker = 0; worker < WORKERS; worker++) {
            WeightStore store = WeightSink.store(sink.name(), worker).orElseThrow();
            try (ActiveVersion lease = store.acquire(MODEL).orElseThrow()) {
                assertThat(lease.info().version()).as("worker %d", worker).isEqualTo(versions);
                byte[] bytes = new byte[last.size()];
                lease.read(0, bytes, 0, bytes.length);
                assertThat(bytes).as("worker %d bytes", worker).isEqualTo(last.bytes());
            }
        }
        List<WorkerStatus> statuses = readStatus(topic, s -> s.getState() == VersionState.COMMITTED
                && s.getVersion() == versions, WORKERS);
        for (int worker = 0; worker < WORKERS; worker++) {
            int w = worker;
            assertThat(statuses).anySatisfy(s -> {
                assertThat(s.getWorker()).isEqualTo(w);
                assertThat(s.getState()).isEqualTo(VersionState.STAGED);
            });
            assertThat(statuses).anySatisfy(s -> {
                assertThat(s.getWorker()).isEqualTo(w);
                assertThat(s.getState()).isEqualTo(VersionState.VERIFIED);
                assertThat(s.getBytes()).isEqualTo(last.size());
            });
            assertThat(statuses).anySatisfy(s -> {
                assertThat(s.getWorker()).isEqualTo(w);
                assertThat(s.getState()).isEqualTo(VersionState.COMMITTED);
                assertThat(s.getVersion()).isEqualTo(versions);
            });
        }
    }

    @Test
    void digestMismatchBlocksTheCommitOnEveryWorkerIsReportedAndLaterVersionsApply() throws Exception {
        String topic = "status-mismatch";
        WeightSink sink = sink("mismatch", topic).commitMode(CommitMode.IMMEDIATE).build();
        VersionEvents events = new VersionEvents(MODEL, BUCKETS, BUCKET_BYTES, CHUNK_BYTES, 2);

        start(sink, events, 3, 1000).getJobExecutionResult().get(2, TimeUnit.MINUTES);

        List<WorkerStatus> statuses = readStatus(topic, s -> s.getState() == VersionState.COMMITTED
                && s.getVersion() == 3, WORKERS);
        List<WorkerStatus> failed = statuses.stream().filter(s -> s.getState() == VersionState.FAILED).toList();
        assertThat(failed).hasSize(WORKERS);
        assertThat(failed).allSatisfy(s -> {
            assertThat(s.getVersion()).isEqualTo(2);
            assertThat(s.getMessage().toString()).contains("bucket 1", "expected sha256");
        });
        assertThat(statuses).filteredOn(s -> s.getState() == VersionState.COMMITTED)
                .extracting(WorkerStatus::getVersion)
                .containsOnly(1L, 3L)
                .hasSize(2 * WORKERS);
        for (int worker = 0; worker < WORKERS; worker++) {
            WeightStore store = WeightSink.store(sink.name(), worker).orElseThrow();
            assertThat(store.status(MODEL).active().orElseThrow().version()).isEqualTo(3);
            assertThat(store.status(MODEL).lastError()).hasValueSatisfying(e -> assertThat(e).contains("bucket 1"));
        }
    }

    @Test
    void readersHammeringTheReferenceWorkersDuringManyFlipsNeverSeeAMixedVersion() throws Exception {
        String topic = "status-hammer";
        // Versions come faster than checkpoints complete and these events have no Kafka to re-read a deferred
        // publish from: flips at each commit keep every version applied.
        WeightSink sink = sink("hammer", topic).commitMode(CommitMode.IMMEDIATE).workerHttp(true).httpBasePort(0)
                .build();
        VersionEvents events = new VersionEvents(MODEL, BUCKETS, BUCKET_BYTES, CHUNK_BYTES, -1);
        int versions = 25;
        Map<Long, String> versionDigests = new HashMap<>();
        Map<Long, String> tensorDigests = new HashMap<>();
        for (long v = 1; v <= versions; v++) {
            TestVersion version = events.version(v);
            versionDigests.put(v, version.sha256Hex());
            tensorDigests.put(v, version.tensorSha256Hex(1, 1));
        }
        String tensor = TestVersion.tensorName(1, 1);

        JobClient job = start(sink, events, versions, 50);
        HttpClient http = HttpClient.newHttpClient();
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong reads = new AtomicLong();
        Set<Long> seen = ConcurrentHashMap.newKeySet();
        List<String> mixed = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        List<Thread> readers = new ArrayList<>();
        for (int worker = 0; worker < WORKERS; worker++) {
            int w = worker;
            Thread reader = new Thread(() -> {
                URI base = awaitUri(sink.name(), w, done);
                try {
                    while (base != null && !done.get()) {
                        check(http, base.resolve(ReferenceWorker.modelPath(MODEL) + "/sha256"), versionDigests, "version", w,
                                mixed, seen, reads);
                        check(http, base.resolve(ReferenceWorker.tensorDigestPath(MODEL, tensor)),
                                tensorDigests, tensor, w, mixed, seen, reads);
                    }
                } catch (RuntimeException e) {
                    // A reader that died would quietly stop checking: fail the test instead.
                    synchronized (errors) {
                        errors.add("reader of worker " + w + ": " + e);
                    }
                }
            });
            reader.start();
            readers.add(reader);
        }
        try {
            job.getJobExecutionResult().get(2, TimeUnit.MINUTES);
        } finally {
            done.set(true);
            for (Thread reader : readers) {
                reader.join();
            }
        }

        assertThat(errors).isEmpty();
        assertThat(mixed).isEmpty();
        // How many reads and flips the readers catch depends on the machine; that they caught some is
        // enough for the check above to mean something.
        assertThat(reads.get()).isPositive();
        assertThat(seen.size()).as("versions the readers saw").isGreaterThan(1);
        URI base = WeightSink.workerUri(sink.name(), 0).orElseThrow();
        String status = get(http, base.resolve("/status")).orElseThrow();
        assertThat(status).contains("\"activeVersion\":" + versions);
    }

    @Test
    void cancellingTheJobReleasesItsWorkersAndAResubmittedJobBindsTheSamePortsFromFreeMemory() throws Exception {
        int basePort = freePorts(WORKERS);
        WeightSink sink = sink("release", "status-release").workerHttp(true).httpBasePort(basePort).build();
        VersionEvents events = new VersionEvents(MODEL, BUCKETS, BUCKET_BYTES, CHUNK_BYTES, -1);

        for (int run = 1; run <= 2; run++) {
            JobClient job = start(sink, events, 1_000_000, 40); // runs until cancelled
            List<WeightStore> stores = new ArrayList<>();
            for (int worker = 0; worker < WORKERS; worker++) {
                int w = worker;
                awaitCondition("run " + run + ": worker " + w + " serves a version", () -> WeightSink
                        .store(sink.name(), w).flatMap(st -> st.status(MODEL).active()).isPresent());
                stores.add(WeightSink.store(sink.name(), w).orElseThrow());
                assertThat(WeightSink.workerUri(sink.name(), w).orElseThrow().getPort()).isEqualTo(basePort + w);
                assertThat(stores.get(w).memory().slotBytes()).isPositive();
            }

            job.cancel().get(1, TimeUnit.MINUTES);

            // Released when the job leaves the TaskManager, shortly after it is CANCELED.
            awaitCondition("run " + run + ": the cancelled job's workers are released", () -> {
                for (int worker = 0; worker < WORKERS; worker++) {
                    if (WeightSink.store(sink.name(), worker).isPresent()
                            || !stores.get(worker).memory().holdsNothing()) {
                        return false;
                    }
                }
                return workerThreads() == 0;
            });
            for (int worker = 0; worker < WORKERS; worker++) {
                try (ServerSocket socket = new ServerSocket(basePort + worker, 1, InetAddress.getLoopbackAddress())) {
                    assertThat(socket.getLocalPort()).isEqualTo(basePort + worker);
                }
            }
        }
    }

    /** A base port with {@code count} consecutive free loopback ports above the ephemeral range's usual start. */
    private static int freePorts(int count) throws IOException {
        for (int base = 20_000 + (int) (ProcessHandle.current().pid() % 5_000) * 4; ; base += count) {
            boolean free = true;
            for (int p = base; p < base + count && free; p++) {
                try (ServerSocket socket = new ServerSocket(p, 1, InetAddress.getLoopbackAddress())) {
                    socket.setReuseAddress(true);
                } catch (IOException e) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
    }

    private static long workerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("weightpub-worker")).count();
    }

    private static void awaitCondition(String what, BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after 120 s waiting until " + what);
            }
            Thread.sleep(50);
        }
    }

    private static URI awaitUri(String sinkName, int worker, AtomicBoolean done) {
        while (!done.get()) {
            Optional<URI> uri = WeightSink.workerUri(sinkName, worker);
            if (uri.isPresent()) {
                return uri.get();
            }
            sleep(10);
        }
        return null;
    }

    private static final Pattern VERSION = Pattern.compile("\"version\":(\\d+)");
    private static final Pattern SHA = Pattern.compile("\"sha256\":\"([0-9a-f]{64})\"");

    private static void check(HttpClient http, URI uri, Map<Long, String> expected, String what, int worker,
            List<String> mixed, Set<Long> seen, AtomicLong reads) {
        Optional<String> body = get(http, uri);
        if (body.isEmpty()) {
            return; // no version active yet
        }
        Matcher version = VERSION.matcher(body.get());
        Matcher sha = SHA.matcher(body.get());
        if (!version.find() || !sha.find()) {
            synchronized (mixed) {
                mixed.add("worker " + worker + " " + what + ": unexpected answer " + body.get());
            }
            return;
        }
        long v = Long.parseLong(version.group(1));
        if (!sha.group(1).equals(expected.get(v))) {
            synchronized (mixed) {
                mixed.add("worker " + worker + " " + what + " of version " + v + ": " + sha.group(1));
            }
        }
        seen.add(v);
        reads.incrementAndGet();
    }

    private static Optional<String> get(HttpClient http, URI uri) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10))
                    .build(), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? Optional.of(response.body()) : Optional.empty();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Reads the status topic from the start until {@code count} records match {@code until}; returns all read. */
    private static List<WorkerStatus> readStatus(String topic, Predicate<WorkerStatus> until, int count)
            throws Exception {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
        List<WorkerStatus> all = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (all.stream().filter(until).count() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    WorkerStatus status = WireCodec.STATUS.decode(record.value());
                    assertThat(record.key()).isEqualTo(status.getModelId() + "/" + status.getWorker());
                    all.add(status);
                }
            }
        }
        assertThat(all.stream().filter(until).count()).as("matching status records").isGreaterThanOrEqualTo(count);
        return all;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
