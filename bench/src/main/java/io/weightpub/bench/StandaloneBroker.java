package io.weightpub.bench;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A single-node KRaft broker (broker and controller in one) in its own JVM, {@code kafka.Kafka} from
 * the benchmark's own classpath and java binary, as {@code scripts/cluster/start-kafka.sh} starts one:
 * the storage formatted with a fresh cluster id, then the server started; 127.0.0.1 ports only. Its
 * CPU is a process of its own ({@link #pid}), and it neither shares a heap nor a garbage collector
 * with the benchmark. Its log segments go to a folder on local disk (deleted on close); the page cache
 * serves the reads, so the heap stays small whatever the topic's size.
 */
public final class StandaloneBroker implements Broker {

    /** The broker's heap: it holds no record data (that is the page cache's), only metadata and buffers. */
    static final String DEFAULT_HEAP = "2g";
    /** Weight chunks are ~1 MiB records; manifests can be larger (as start-kafka.sh). */
    static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024 + 4096;

    private final Path dir;
    private final ChildJvm.Running process;
    private final String bootstrap;
    private final String heap;

    private StandaloneBroker(Path dir, ChildJvm.Running process, String bootstrap, String heap) {
        this.dir = dir;
        this.process = process;
        this.bootstrap = bootstrap;
        this.heap = heap;
    }

    /** Formats and starts a broker with its data under a new folder in {@code parent}; waits until it answers. */
    public static StandaloneBroker start(Path parent, String heap) throws IOException, InterruptedException {
        Files.createDirectories(parent);
        Path dir = Files.createTempDirectory(parent, "weightpub-broker-");
        int port = freePort();
        int controllerPort = freePort();
        Path properties = dir.resolve("server.properties");
        Files.writeString(properties, serverProperties(dir.resolve("data"), port, controllerPort));
        Path log4j = dir.resolve("log4j2.properties");
        Files.writeString(log4j, LOG4J);
        List<String> jvm = List.of("-Xms" + heap, "-Xmx" + heap, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-Dkafka.logs.dir=" + dir.resolve("logs"), "-Dlog4j2.configurationFile=file:" + log4j);
        ChildJvm.Outcome format = ChildJvm.run("kafka.tools.StorageTool", jvm,
                List.of("format", "-t", Uuid.randomUuid().toString(), "-c", properties.toString()), 120, null);
        if (format.exitCode() != 0) {
            delete(dir);
            throw new IOException("formatting the broker's storage in " + dir + " failed (exit " + format.exitCode()
                    + "):\n" + format.tail(30));
        }
        ChildJvm.Running process = ChildJvm.start("kafka.Kafka", jvm, List.of(properties.toString()), null);
        String bootstrap = "127.0.0.1:" + port;
        try {
            awaitReady(process, bootstrap, dir);
        } catch (IOException | RuntimeException e) {
            process.stop(30);
            delete(dir);
            throw e;
        }
        return new StandaloneBroker(dir, process, bootstrap, heap);
    }

    static String serverProperties(Path data, int port, int controllerPort) {
        return String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "log.dirs=" + data,
                "num.partitions=1",
                "default.replication.factor=1",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "message.max.bytes=" + MAX_MESSAGE_BYTES,
                "replica.fetch.max.bytes=" + MAX_MESSAGE_BYTES,
                "");
    }

    /** The broker's own log in a file (warnings and up); its stdout stays quiet. */
    private static final String LOG4J = String.join("\n",
            "status = warn",
            "appender.file.type = File",
            "appender.file.name = file",
            "appender.file.fileName = ${sys:kafka.logs.dir}/server.log",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = WARN",
            "rootLogger.appenderRef.file.ref = file",
            "");

    private static void awaitReady(ChildJvm.Running process, String bootstrap, Path dir)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        Exception last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("the broker in " + dir + " ended while starting:\n"
                        + new ChildJvm.Outcome(-1, process.lines()).tail(30));
            }
            if (!listening(bootstrap)) {
                // the admin client would log a warning for each refused connection
                Thread.sleep(300);
                continue;
            }
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000,
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000))) {
                admin.describeCluster().nodes().get(3, TimeUnit.SECONDS);
                return;
            } catch (Exception e) {
                last = e;
                Thread.sleep(300);
            }
        }
        throw new IOException("the broker at " + bootstrap + " (" + dir + ") did not answer within 120 s", last);
    }

    private static boolean listening(String bootstrap) {
        int port = Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1));
        try (java.net.Socket socket = new java.net.Socket()) {
            socket.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @Override
    public String bootstrap() {
        return bootstrap;
    }

    @Override
    public long pid() {
        return process.pid();
    }

    @Override
    public String mode() {
        return "standalone KRaft broker process (kafka.Kafka in a child JVM, heap " + heap + ", data under " + dir
                + ") on 127.0.0.1";
    }

    /** Stops the broker (TERM, then KILL after 30 s) and deletes its data. */
    @Override
    public void close() {
        process.stop(30);
        delete(dir);
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not delete the broker's folder " + dir, e);
        }
    }
}
