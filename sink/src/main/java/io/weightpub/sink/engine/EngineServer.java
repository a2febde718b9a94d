package io.weightpub.sink.engine;

import io.weightpub.store.WeightStore;

import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serves one worker's active versions to the inference engine processes on its host, over a Unix
 * domain socket (protocol: docs/engine-protocol.md). Each engine subscribes to models; on every
 * flip it is offered the new version (memory to map, tensor table, bucket digests) under a lease
 * on the version's slot, so the store does not reuse that slot until the engine has applied the
 * version, moved on, disconnected, or overstayed the lease timeout.
 */
@Internal
public final class EngineServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EngineServer.class);
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final WeightStore store;
    private final int worker;
    private final EngineServerConfig config;
    private final EngineEvents events;
    private final ServerSocketChannel server;
    private final Set<EngineSession> sessions = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private EngineServer(WeightStore store, int worker, EngineServerConfig config, EngineEvents events,
            ServerSocketChannel server) {
        this.store = store;
        this.worker = worker;
        this.config = config;
        this.events = events;
        this.server = server;
    }

    /** Binds the socket (replacing a stale one a previous worker left) and starts accepting engines. */
    public static EngineServer start(WeightStore store, int worker, EngineServerConfig config, EngineEvents events) {
        Path path = config.socketPath();
        ServerSocketChannel channel = null;
        try {
            removeStaleSocket(path);
            if (path.toAbsolutePath().getParent() != null) {
                Files.createDirectories(path.toAbsolutePath().getParent());
            }
            channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            channel.bind(UnixDomainSocketAddress.of(path));
            Files.setPosixFilePermissions(path, config.permissions());
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("worker " + worker + ": cannot serve engines on " + path, e);
        }
        EngineServer engineServer = new EngineServer(store, worker, config, events, channel);
        daemon("weightpub-engine-accept-" + worker, engineServer::acceptLoop).start();
        LOG.info("worker {}: serving engines on {}", worker, path);
        return engineServer;
    }

    public Path socketPath() {
        return config.socketPath();
    }

    /** Engines connected now. */
    public int engines() {
        return sessions.size();
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("worker {}: accepting an engine on {} failed", worker, config.socketPath(), e);
                }
                return;
            }
            EngineSession session = new EngineSession(client, store, worker, config, events, sessions::remove);
            sessions.add(session);
            int id = THREADS.incrementAndGet();
            daemon("weightpub-engine-" + worker + "-" + id, session::serve).start();
            daemon("weightpub-engine-" + worker + "-" + id + "-offers", () -> offerLoop(session)).start();
        }
    }

    /** One thread per engine offers versions, so an engine that stops reading delays nobody else. */
    private void offerLoop(EngineSession session) {
        long pollNanos = config.pollInterval().toNanos();
        while (!session.isClosed() && !closed) {
            try {
                session.tick();
            } catch (RuntimeException e) {
                // A store closed under its engines (worker released) or a bug: the engine reconnects to a fresh start.
                if (!closed) {
                    LOG.warn("worker {}: offering versions to an engine failed; disconnecting it", worker, e);
                }
                session.close();
                break;
            }
            try {
                TimeUnit.NANOSECONDS.sleep(pollNanos);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
    }

    /** Stops accepting, disconnects every engine (releasing their leases) and removes the socket file. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(server);
        for (EngineSession session : sessions) {
            session.close();
        }
        try {
            Files.deleteIfExists(config.socketPath());
        } catch (IOException e) {
            LOG.warn("worker {}: could not remove engine socket {}", worker, config.socketPath(), e);
        }
    }

    /** A socket file left by a worker that died: binding fails while it exists. Anything else is not ours to delete. */
    private static void removeStaleSocket(Path path) throws IOException {
        try {
            BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!attrs.isOther()) {
                throw new IOException(path + " exists and is not a socket");
            }
            Files.delete(path);
        } catch (NoSuchFileException e) {
            // Nothing left behind.
        }
    }

    private static Thread daemon(String name, Runnable body) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        return thread;
    }

    private static void closeQuietly(ServerSocketChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                LOG.debug("closing engine socket", e);
            }
        }
    }
}
