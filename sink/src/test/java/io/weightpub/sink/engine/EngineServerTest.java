package io.weightpub.sink.engine;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.store.CommitOutcome;
import io.weightpub.store.StoreBackend;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import io.weightpub.testutils.TestVersion;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The engine server over a real HOST store whose slots are shared-memory files, with a Java engine client. */
class EngineServerTest {

    private static final String MODEL = "m";
    private static final int CHUNK = 4096;

    @TempDir
    Path dir;

    private final List<String> events = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> open = new ArrayList<>();

    private final EngineEvents recorder = new EngineEvents() {
        @Override
        public void applied(String engine, VersionInfo version, long millis) {
            events.add("applied " + engine + " " + version.version());
        }

        @Override
        public void failed(String engine, VersionInfo version, long millis, String message) {
            events.add("failed " + engine + " " + version.version() + " " + message);
        }

        @Override
        public void revoked(String engine, VersionInfo version, String reason) {
            events.add("revoked " + engine + " " + version.version());
        }
    };

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    @Test
    void anEngineIsOfferedTheActiveVersionOnSubscribeAndEachFlipAsAFileItMapsWithTheManifestsDigests()
            throws Exception {
        WeightStore store = store(Duration.ofSeconds(5));
        TestVersion v1 = commit(store, 1);
        server(store, Duration.ofSeconds(10));
        Client engine = client("e0", "copy");

        Map<String, Object> offer = engine.await("version");
        assertThat(num(offer, "version")).isEqualTo(1);
        assertThat(str(map(offer, "memory"), "kind")).isEqualTo("host");
        Path file = Path.of(str(map(offer, "memory"), "path"));
        assertThat(file).startsWith(dir.resolve("shm"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(mapped(file, num(map(offer, "memory"), "offset"), v1.size())).isEqualTo(v1.bytes());
        List<String> digests = new ArrayList<>();
        list(offer, "buckets").forEach(b -> digests.add(str(b, "sha256")));
        assertThat(digests).isEqualTo(v1.manifest().getBuckets().stream()
                .map(b -> HexFormat.of().formatHex(b.getSha256().array())).toList());
        Map<String, Object> tensor = list(offer, "tensors").get(0);
        BucketInfo bucket = v1.manifest().getBuckets().get(0);
        assertThat(str(tensor, "name")).isEqualTo(bucket.getTensors().get(0).getName().toString());
        assertThat(num(tensor, "offset")).isEqualTo(bucket.getOffset() + bucket.getTensors().get(0).getStartIdx());

        engine.send(Map.of("type", "applied", "model", MODEL, "version", 1, "ms", 3));
        TestVersion v2 = commit(store, 2);
        Map<String, Object> second = engine.await("version");
        assertThat(num(second, "version")).isEqualTo(2);
        assertThat(mapped(Path.of(str(map(second, "memory"), "path")), 0, v2.size())).isEqualTo(v2.bytes());
        awaitEvent("applied e0 1");
    }

    @Test
    void aSlotAnEngineHoldsIsNotReusedUntilItAcknowledgesTheVersion() throws Exception {
        WeightStore store = store(Duration.ofMillis(300));
        commit(store, 1);
        server(store, Duration.ofMinutes(1));
        Client engine = client("e0", "copy");
        engine.await("version");
        commit(store, 2);
        engine.await("version");

        TestVersion v3 = TestVersion.of(MODEL, 3, 2, 8192);
        assertThatThrownBy(() -> stageInto(store, v3)).hasMessageContaining("waited");

        engine.send(Map.of("type", "applied", "model", MODEL, "version", 1, "ms", 1));
        awaitEvent("applied e0 1");
        commit(store, 3);
        assertThat(num(engine.await("version"), "version")).isEqualTo(3);
    }

    @Test
    void aLeaseHeldPastItsTimeoutIsRevokedAndTheSlotIsFreeAgain() throws Exception {
        WeightStore store = store(Duration.ofSeconds(10));
        commit(store, 1);
        server(store, Duration.ofMillis(200));
        Client engine = client("slow", "copy");
        engine.await("version");
        commit(store, 2);

        Map<String, Object> revoked = engine.await("revoked");
        assertThat(num(revoked, "version")).isEqualTo(1);
        assertThat(str(revoked, "reason")).contains("held longer than");
        awaitEvent("revoked slow 1");
        commit(store, 3);
    }

    @Test
    void anEngineThatDisconnectsReleasesEveryLeaseItHeld() throws Exception {
        WeightStore store = store(Duration.ofMillis(300));
        commit(store, 1);
        EngineServer server = server(store, Duration.ofMinutes(1));
        Client engine = client("gone", "zero-copy");
        engine.await("version");
        commit(store, 2);
        engine.await("version");
        engine.close();
        RunningAwait.until(() -> server.engines() == 0);

        commit(store, 3);
    }

    @Test
    void theOfferNamesItsAllocationTheSameForVersionsThatReuseASlotAndAnotherForAnotherSlot() throws Exception {
        WeightStore store = store(Duration.ofSeconds(5));
        commit(store, 1);
        server(store, Duration.ofSeconds(10));
        Client engine = client("e0", "copy");
        Map<String, Object> first = map(engine.await("version"), "memory");
        engine.send(Map.of("type", "applied", "model", MODEL, "version", 1, "ms", 1));
        commit(store, 2);
        Map<String, Object> second = map(engine.await("version"), "memory");
        engine.send(Map.of("type", "applied", "model", MODEL, "version", 2, "ms", 1));
        // Two slots per model, none kept resident: version 3 lands in version 1's slot.
        commit(store, 3);
        Map<String, Object> third = map(engine.await("version"), "memory");

        assertThat(str(first, "allocation")).matches("[0-9a-f]{16}");
        assertThat(str(third, "allocation")).isEqualTo(str(first, "allocation"));
        assertThat(str(third, "path")).isEqualTo(str(first, "path"));
        assertThat(str(second, "allocation")).matches("[0-9a-f]{16}").isNotEqualTo(str(first, "allocation"));
    }

    @Test
    void anEngineIsToldOnceThatAnAllocationItWasOfferedIsFreedBeforeTheVersionInItsReplacementIsOffered()
            throws Exception {
        WeightStore store = store(Duration.ofSeconds(5));
        commit(store, 1);
        server(store, Duration.ofSeconds(10));
        Client engine = client("e0", "copy");
        String a1 = str(map(engine.await("version"), "memory"), "allocation");
        engine.send(Map.of("type", "applied", "model", MODEL, "version", 1, "ms", 1));
        commit(store, 2);
        String a2 = str(map(engine.await("version"), "memory"), "allocation");
        engine.send(Map.of("type", "applied", "model", MODEL, "version", 2, "ms", 1));

        // Four times larger: it takes version 1's retired slot, which is too small, so the store frees that memory.
        commit(store, 3, 32768);
        Map<String, Object> retired = engine.await("retired");
        assertThat(retired).containsExactly(Map.entry("type", "retired"), Map.entry("model", MODEL),
                Map.entry("allocation", a1));
        Map<String, Object> third = engine.await("version");
        assertThat(num(third, "version")).isEqualTo(3);
        assertThat(str(map(third, "memory"), "allocation")).isNotIn(a1, a2);
        engine.send(Map.of("type", "applied", "model", MODEL, "version", 3, "ms", 1));
        commit(store, 4, 32768);
        assertThat(str(engine.await("retired"), "allocation")).isEqualTo(a2);
        assertThat(num(engine.await("version"), "version")).isEqualTo(4);

        assertThat(engine.received).filteredOn(m -> str(m, "type").equals("retired"))
                .extracting(m -> str(m, "allocation")).containsExactly(a1, a2);
    }

    @Test
    void theSocketHasTheConfiguredPermissionsAndIsRemovedOnClose() throws Exception {
        EngineServer server = server(store(Duration.ofSeconds(5)), Duration.ofSeconds(10));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(server.socketPath())))
                .isEqualTo("rw-------");
        server.close();
        assertThat(server.socketPath()).doesNotExist();
    }

    private WeightStore store(Duration leaseWait) throws IOException {
        WeightStore store = WeightStore.open(WeightStoreConfig.builder()
                .backend(StoreBackend.HOST)
                .slotsPerModel(2)
                .residentVersions(0)
                .leaseWaitTimeout(leaseWait)
                .sharedMemoryDirectory(dir.resolve("shm").toString())
                .build(), 0);
        open.add(store);
        return store;
    }

    private EngineServer server(WeightStore store, Duration leaseTimeout) {
        EngineServer server = EngineServer.start(store, 0, new EngineServerConfig(dir.resolve("w0.sock"),
                EngineServerConfig.permissions("rw-------"), leaseTimeout, Duration.ofMillis(5)), recorder);
        open.add(server);
        return server;
    }

    private Client client(String engine, String mode) throws Exception {
        Client client = new Client(dir.resolve("w0.sock"));
        open.add(client);
        client.send(Map.of("type", "subscribe", "model", MODEL, "engine", engine, "mode", mode));
        assertThat(str(client.await("subscribed"), "engine")).isEqualTo(engine);
        return client;
    }

    private static TestVersion commit(WeightStore store, long version) throws Exception {
        return commit(store, version, 8192);
    }

    private static TestVersion commit(WeightStore store, long version, int bucketBytes) throws Exception {
        TestVersion v = TestVersion.of(MODEL, version, 2, bucketBytes);
        stageInto(store, v);
        assertThat(store.verify(MODEL, v.publishId(), v.manifest()).ok()).isTrue();
        assertThat(store.commit(MODEL, v.publishId(), version, version)).isEqualTo(CommitOutcome.FLIPPED);
        return v;
    }

    private static void stageInto(WeightStore store, TestVersion v) throws Exception {
        store.stage(MODEL, v.publishId(), v.step(), v.size());
        for (int i = 0; i < v.chunkCount(CHUNK); i++) {
            byte[] payload = v.chunk(i, CHUNK).payload();
            store.write(MODEL, v.publishId(), (long) i * CHUNK, payload, 0, payload.length);
        }
    }

    private static byte[] mapped(Path file, long offset, int size) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer bytes = channel.map(FileChannel.MapMode.READ_ONLY, offset, size);
            byte[] out = new byte[size];
            bytes.get(out);
            return out;
        }
    }

    private static long num(Map<String, Object> message, String key) {
        return ((Number) message.get(key)).longValue();
    }

    private static String str(Map<String, Object> message, String key) {
        return (String) message.get(key);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> message, String key) {
        return (Map<String, Object>) message.get(key);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Map<String, Object> message, String key) {
        return (List<Map<String, Object>>) message.get(key);
    }

    private void awaitEvent(String event) throws InterruptedException {
        RunningAwait.until(() -> events.contains(event));
        assertThat(events).contains(event);
    }

    /** A minimal engine speaking the protocol with the server's own framing. */
    private static final class Client implements AutoCloseable {
        private final SocketChannel channel;
        private final ExecutorService reader = Executors.newSingleThreadExecutor();
        /** Every message read so far, in order. */
        final List<Map<String, Object>> received = new ArrayList<>();

        Client(Path socket) throws IOException {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(socket));
        }

        void send(Map<String, Object> message) throws IOException {
            EngineFrames.write(channel, message);
        }

        /** The next message of {@code type}, skipping others (fails at end of stream or after 30 s). */
        Map<String, Object> await(String type) throws Exception {
            while (true) {
                Map<String, Object> message = reader.submit(() -> EngineFrames.read(channel)).get(30, TimeUnit.SECONDS);
                assertThat(message).as("a %s message before the stream ended", type).isNotNull();
                received.add(message);
                if (str(message, "type").equals(type)) {
                    return message;
                }
                assertThat(str(message, "type")).as("unexpected %s", message).isNotEqualTo("error");
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
            reader.shutdownNow();
        }
    }

    /** Polls a condition for up to 30 s. */
    private static final class RunningAwait {
        static void until(java.util.function.BooleanSupplier condition) throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        }
    }
}
