package io.weightpub.sink.engine;

import io.weightpub.store.ActiveVersion;
import io.weightpub.store.SharedSlot;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.WeightStore;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * One engine connection: its subscriptions, the leases it holds on offered versions, and the
 * acknowledgements it sends. State changes under this object's lock; messages are written outside
 * it, so an engine that stops reading cannot hold up its own acknowledgements.
 */
final class EngineSession {

    private static final Logger LOG = LoggerFactory.getLogger(EngineSession.class);
    private static final int MAX_ENGINE_NAME = 200;

    private final SocketChannel channel;
    private final WeightStore store;
    private final int worker;
    private final EngineServerConfig config;
    private final EngineEvents events;
    private final Consumer<EngineSession> onClose;
    private final Object writeLock = new Object();
    private final Map<String, Subscription> subscriptions = new LinkedHashMap<>();
    private String engine;
    private volatile boolean closed;

    private static final class Subscription {
        final String model;
        final boolean zeroCopy;
        long lastOffered = -1;
        /** Leased versions by number; the deadline is Long.MAX_VALUE while no timeout runs. */
        final TreeMap<Long, Held> held = new TreeMap<>();
        /** Allocations of the versions offered whose freeing the engine has not been told of yet. */
        final Set<String> allocations = new LinkedHashSet<>();
        /** Versions offered recently, for acknowledgements that arrive after their lease ended. */
        final Map<Long, VersionInfo> offered = new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, VersionInfo> eldest) {
                return size() > 16;
            }
        };

        Subscription(String model, boolean zeroCopy) {
            this.model = model;
            this.zeroCopy = zeroCopy;
        }
    }

    private static final class Held {
        final ActiveVersion lease;
        final String allocation;
        long deadlineNanos;

        Held(ActiveVersion lease, String allocation, long deadlineNanos) {
            this.lease = lease;
            this.allocation = allocation;
            this.deadlineNanos = deadlineNanos;
        }
    }

    EngineSession(SocketChannel channel, WeightStore store, int worker, EngineServerConfig config,
            EngineEvents events, Consumer<EngineSession> onClose) {
        this.channel = channel;
        this.store = store;
        this.worker = worker;
        this.config = config;
        this.events = events;
        this.onClose = onClose;
    }

    /** Reads requests until the engine disconnects; then every lease it held is released. */
    void serve() {
        try {
            Map<String, Object> message;
            while (!closed && (message = EngineFrames.read(channel)) != null) {
                handle(message);
            }
        } catch (IOException e) {
            if (!closed) {
                LOG.info("worker {}: engine {} disconnected: {}", worker, engineName(), e.toString());
            }
        } catch (RuntimeException e) {
            LOG.warn("worker {}: engine {} sent a request that could not be handled", worker, engineName(), e);
        } finally {
            close();
        }
    }

    /**
     * Offers a newly active version to each subscription, tells the engine of allocations it was
     * offered that the store has freed since, and takes back expired leases.
     */
    void tick() {
        List<Map<String, Object>> out = new ArrayList<>();
        List<Runnable> notices = new ArrayList<>();
        synchronized (this) {
            if (closed) {
                return;
            }
            long now = System.nanoTime();
            for (Subscription sub : subscriptions.values()) {
                int beforeOffer = out.size();
                String offered = offer(sub, now, out);
                // After the acquire: memory freed before the offered version flipped shows as freed here.
                out.addAll(beforeOffer, retire(sub));
                if (offered != null) {
                    sub.allocations.add(offered);
                }
                expire(sub, now, out, notices);
            }
        }
        notices.forEach(Runnable::run);
        out.forEach(this::send);
    }

    /** Offers the active version if it is new to the subscription; returns the allocation offered, or null. */
    private String offer(Subscription sub, long now, List<Map<String, Object>> out) {
        Optional<ActiveVersion> acquired = store.acquire(sub.model);
        if (acquired.isEmpty()) {
            return null;
        }
        ActiveVersion lease = acquired.get();
        long version = lease.info().version();
        if (version <= sub.lastOffered) {
            lease.close();
            return null;
        }
        sub.lastOffered = version;
        sub.offered.put(version, lease.info());
        Optional<SharedSlot> slot = lease.shared();
        if (slot.isEmpty()) {
            lease.close();
            out.add(error(sub.model, version, "version " + version + " of model " + sub.model + " on worker " + worker
                    + " lives in memory no other process can map (a HOST store needs a shared-memory directory)"));
            return null;
        }
        long timeoutNanos = config.leaseTimeout().toNanos();
        if (sub.zeroCopy) {
            // The engine may keep computing on the older slots until it has moved; from now on it has the timeout to.
            sub.held.values().forEach(h -> h.deadlineNanos = Math.min(h.deadlineNanos, now + timeoutNanos));
        }
        String allocation = slot.get().allocation();
        sub.held.put(version, new Held(lease, allocation, sub.zeroCopy ? Long.MAX_VALUE : now + timeoutNanos));
        out.add(VersionOffer.message(lease, slot.get(), worker, config.leaseTimeout().toMillis(),
                sub.zeroCopy ? "zero-copy" : "copy"));
        return allocation;
    }

    /**
     * A {@code retired} message for each allocation offered before whose memory the store no longer
     * holds (evicted, replaced by a bigger slot, or freed at close), once each. The store never frees
     * a leased slot, so an allocation this engine leases is not retired while the lease lasts: the
     * engine may be reading it.
     */
    private List<Map<String, Object>> retire(Subscription sub) {
        if (sub.allocations.isEmpty()) {
            return List.of();
        }
        Set<String> live = store.sharedAllocations(sub.model);
        List<Map<String, Object>> retired = new ArrayList<>();
        for (Iterator<String> it = sub.allocations.iterator(); it.hasNext(); ) {
            String allocation = it.next();
            boolean leased = sub.held.values().stream().anyMatch(h -> h.allocation.equals(allocation));
            if (!live.contains(allocation) && !leased) {
                it.remove();
                Map<String, Object> msg = new LinkedHashMap<>();
                msg.put("type", "retired");
                msg.put("model", sub.model);
                msg.put("allocation", allocation);
                retired.add(msg);
            }
        }
        return retired;
    }

    private void expire(Subscription sub, long now, List<Map<String, Object>> out, List<Runnable> notices) {
        for (Iterator<Map.Entry<Long, Held>> it = sub.held.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, Held> entry = it.next();
            if (now - entry.getValue().deadlineNanos >= 0) {
                it.remove();
                VersionInfo info = entry.getValue().lease.info();
                entry.getValue().lease.close();
                String reason = "lease on version " + info.version() + " of model " + sub.model + " held longer than "
                        + config.leaseTimeout() + " without " + (sub.zeroCopy ? "moving to a newer version" : "an ack");
                Map<String, Object> revoked = message("revoked", sub.model, info.version());
                revoked.put("reason", reason);
                out.add(revoked);
                String name = engineName();
                notices.add(() -> events.revoked(name, info, reason));
            }
        }
    }

    private void handle(Map<String, Object> message) {
        String type = text(message, "type", "");
        List<Runnable> notices = new ArrayList<>();
        List<Map<String, Object>> out = new ArrayList<>();
        Subscription subscribed = null;
        synchronized (this) {
            switch (type) {
                case "subscribe" -> subscribed = subscribe(message, out);
                case "applied", "failed", "release" -> acknowledge(type, message, out, notices);
                default -> out.add(error(null, -1, "unknown request type '" + type + "'"));
            }
        }
        notices.forEach(Runnable::run);
        out.forEach(this::send);
        if (subscribed != null) {
            // Only now, after the reply: an offer must never reach the engine before "subscribed" does.
            synchronized (this) {
                subscriptions.putIfAbsent(subscribed.model, subscribed);
            }
            tick();
        }
    }

    /** Checks a subscription and answers it; returns it for registering after the answer, or null. */
    private Subscription subscribe(Map<String, Object> message, List<Map<String, Object>> out) {
        String model = text(message, "model", "");
        String name = text(message, "engine", "");
        String mode = text(message, "mode", "copy");
        if (model.isEmpty() || name.isEmpty() || name.length() > MAX_ENGINE_NAME
                || !(mode.equals("copy") || mode.equals("zero-copy"))) {
            out.add(error(model.isEmpty() ? null : model, -1, "subscribe needs a model, an engine name of at most "
                    + MAX_ENGINE_NAME + " characters and a mode of copy or zero-copy; got model '" + model
                    + "', engine '" + name + "', mode '" + mode + "'"));
            return null;
        }
        if (engine != null && !engine.equals(name)) {
            out.add(error(model, -1, "this connection is engine " + engine + ", not " + name));
            return null;
        }
        engine = name;
        Map<String, Object> reply = message("subscribed", model, -1);
        reply.remove("version");
        reply.put("worker", worker);
        reply.put("engine", name);
        reply.put("leaseTimeoutMs", config.leaseTimeout().toMillis());
        out.add(reply);
        LOG.info("worker {}: engine {} subscribed to model {} ({})", worker, name, model, mode);
        return subscriptions.containsKey(model) ? null : new Subscription(model, mode.equals("zero-copy"));
    }

    private void acknowledge(String type, Map<String, Object> message, List<Map<String, Object>> out, List<Runnable> notices) {
        String model = text(message, "model", "");
        long version = message.get("version") instanceof Number n ? n.longValue() : -1;
        long millis = message.get("ms") instanceof Number n ? Math.max(0, Math.round(n.doubleValue())) : 0;
        Subscription sub = subscriptions.get(model);
        VersionInfo info = sub == null ? null : sub.offered.get(version);
        if (info == null) {
            out.add(error(model, version, type + " of version " + version + " of model " + model
                    + ", which this worker did not offer to engine " + engineName()));
            return;
        }
        Held held = sub.held.get(version);
        String name = engineName();
        switch (type) {
            case "applied" -> {
                if (held == null) {
                    String why = "applied version " + version + " after its lease was revoked: the copy may mix "
                            + "versions";
                    out.add(error(model, version, why));
                    notices.add(() -> events.failed(name, info, millis, why));
                    return;
                }
                // Copy mode: the engine has its own copy. Zero-copy: it moved, so every older slot is free.
                releaseBelow(sub, sub.zeroCopy ? version : version + 1);
                notices.add(() -> events.applied(name, info, millis));
            }
            case "failed" -> {
                release(sub, version);
                String why = text(message, "message", "");
                notices.add(() -> events.failed(name, info, millis, why));
            }
            default -> release(sub, version);
        }
    }

    private static void release(Subscription sub, long version) {
        Held held = sub.held.remove(version);
        if (held != null) {
            held.lease.close();
        }
    }

    private static void releaseBelow(Subscription sub, long version) {
        Map<Long, Held> below = sub.held.headMap(version);
        below.values().forEach(h -> h.lease.close());
        below.clear();
    }

    private Map<String, Object> message(String type, String model, long version) {
        Map<String, Object> msg = new LinkedHashMap<>();
        msg.put("type", type);
        if (model != null) {
            msg.put("model", model);
        }
        msg.put("version", version);
        return msg;
    }

    private Map<String, Object> error(String model, long version, String text) {
        Map<String, Object> msg = message("error", model, version);
        msg.put("message", text);
        return msg;
    }

    private static String text(Map<String, Object> message, String key, String absent) {
        Object value = message.get(key);
        return value instanceof String s ? s : absent;
    }

    private void send(Map<String, Object> message) {
        synchronized (writeLock) {
            if (closed) {
                return;
            }
            try {
                EngineFrames.write(channel, message);
            } catch (IOException e) {
                LOG.info("worker {}: engine {} is gone ({}); its leases are released", worker, engineName(),
                        e.toString());
                close();
            }
        }
    }

    private synchronized String engineName() {
        return engine == null ? "(not subscribed)" : engine;
    }

    boolean isClosed() {
        return closed;
    }

    void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            for (Subscription sub : subscriptions.values()) {
                sub.held.values().forEach(h -> h.lease.close());
                sub.held.clear();
            }
        }
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("closing engine {}'s channel", engine, e);
        }
        onClose.accept(this);
    }
}
