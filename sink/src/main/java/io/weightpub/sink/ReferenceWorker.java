package io.weightpub.sink;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.weightpub.store.ActiveVersion;
import io.weightpub.store.ModelStatus;
import io.weightpub.store.StagedPublish;
import io.weightpub.store.TensorRef;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.WeightStore;
import io.weightpub.sink.engine.Json;
import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static io.weightpub.sink.engine.Json.quote;

/**
 * A reference inference worker: serves reads of one worker's {@link WeightStore} over HTTP on
 * loopback while versions flip underneath. Every read holds one lease for its whole duration,
 * so an answer always comes from one version. JSON endpoints (GET only):
 *
 * <ul>
 *   <li>{@code /status}: per model the active version, content version, step, publish, staged
 *       publishes and the last error;
 *   <li>{@code /models/{model}/tensors}: tensor names of the active version;
 *   <li>{@code /models/{model}/tensors/{name}/sha256}: SHA-256 of that tensor's bytes read from
 *       the active slot, with the version they were read from;
 *   <li>{@code /models/{model}/sha256}: SHA-256 of the whole active version, with its version.
 * </ul>
 * Model ids and tensor names are percent-encoded path segments ({@code org/name} is
 * {@code org%2Fname}); {@link #modelPath} and {@link #tensorDigestPath} build them.
 */
@PublicEvolving
public final class ReferenceWorker implements AutoCloseable {

    private static final String MODELS = "/models/";

    private final WeightStore store;
    private final int worker;
    private final HttpServer server;
    private final ExecutorService executor;

    private ReferenceWorker(WeightStore store, int worker, HttpServer server, ExecutorService executor) {
        this.store = store;
        this.worker = worker;
        this.server = server;
        this.executor = executor;
    }

    /** Starts serving {@code store} on 127.0.0.1:{@code port} (0 = an ephemeral port). */
    public static ReferenceWorker start(WeightStore store, int worker, int port) {
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        } catch (IOException e) {
            throw new UncheckedIOException("worker " + worker + ": cannot listen on 127.0.0.1:" + port, e);
        }
        AtomicInteger threads = new AtomicInteger();
        ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "weightpub-worker" + worker + "-http-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        ReferenceWorker reference = new ReferenceWorker(store, worker, server, executor);
        server.createContext("/", reference::handle);
        server.setExecutor(executor);
        server.start();
        return reference;
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    public URI uri() {
        return URI.create("http://127.0.0.1:" + address().getPort());
    }

    public int worker() {
        return worker;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!"GET".equals(exchange.getRequestMethod())) {
                send(exchange, 405, error("only GET is served"));
                return;
            }
            String path = exchange.getRequestURI().getRawPath();
            try {
                route(exchange, path);
            } catch (RuntimeException e) {
                send(exchange, 500, error(path + ": " + e));
            }
        }
    }

    private void route(HttpExchange exchange, String path) throws IOException {
        if (path.equals("/status")) {
            send(exchange, 200, status());
            return;
        }
        if (path.startsWith(MODELS)) {
            String rest = path.substring(MODELS.length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                String model = decode(rest.substring(0, slash));
                String what = rest.substring(slash + 1);
                if (what.equals("tensors")) {
                    send(exchange, tensors(model));
                    return;
                }
                if (what.equals("sha256")) {
                    send(exchange, versionDigest(model));
                    return;
                }
                if (what.startsWith("tensors/") && what.endsWith("/sha256")) {
                    String name = decode(what.substring("tensors/".length(), what.length() - "/sha256".length()));
                    send(exchange, tensorDigest(model, name));
                    return;
                }
            }
        }
        send(exchange, 404, error("no such endpoint: " + path));
    }

    private String status() {
        StringBuilder json = new StringBuilder("{\"worker\":").append(worker).append(",\"backend\":")
                .append(quote(store.backend().name())).append(",\"models\":{");
        String sep = "";
        for (String model : store.models().stream().sorted().toList()) {
            ModelStatus status = store.status(model);
            json.append(sep).append(quote(model)).append(":{");
            sep = ",";
            Optional<VersionInfo> active = status.active();
            if (active.isPresent()) {
                VersionInfo info = active.get();
                json.append("\"activeVersion\":").append(info.version())
                        .append(",\"contentVersion\":").append(info.contentVersion())
                        .append(",\"step\":").append(info.step())
                        .append(",\"publishId\":").append(quote(info.publishId()))
                        .append(",\"bytes\":").append(info.sizeBytes())
                        .append(",\"activatedAtMs\":").append(info.activatedAtMillis());
            } else {
                json.append("\"activeVersion\":null");
            }
            json.append(",\"staged\":[");
            String stagedSep = "";
            for (StagedPublish staged : status.staged()) {
                json.append(stagedSep).append("{\"publishId\":").append(quote(staged.publishId()))
                        .append(",\"step\":").append(staged.step())
                        .append(",\"versionBytes\":").append(staged.versionBytes())
                        .append(",\"bytesWritten\":").append(staged.bytesWritten())
                        .append(",\"verified\":").append(staged.verified()).append('}');
                stagedSep = ",";
            }
            json.append("],\"lastError\":").append(status.lastError().map(Json::quote).orElse("null"))
                    .append('}');
        }
        return json.append("}}").toString();
    }

    private Optional<String> tensors(String model) {
        Optional<ActiveVersion> leased = store.acquire(model);
        if (leased.isEmpty()) {
            return Optional.empty();
        }
        try (ActiveVersion lease = leased.get()) {
            StringBuilder json = new StringBuilder("{\"model\":").append(quote(model)).append(",\"version\":")
                    .append(lease.info().version()).append(",\"tensors\":[");
            List<String> names = lease.tensorNames();
            for (int i = 0; i < names.size(); i++) {
                json.append(i == 0 ? "" : ",").append(quote(names.get(i)));
            }
            return Optional.of(json.append("]}").toString());
        }
    }

    private Optional<String> tensorDigest(String model, String name) {
        Optional<ActiveVersion> leased = store.acquire(model);
        if (leased.isEmpty()) {
            return Optional.empty();
        }
        try (ActiveVersion lease = leased.get()) {
            Optional<TensorRef> found = lease.tensor(name);
            if (found.isEmpty()) {
                return Optional.empty();
            }
            TensorRef tensor = found.get();
            byte[] digest = lease.sha256(tensor.offset(), tensor.sizeBytes());
            return Optional.of("{\"model\":" + quote(model) + ",\"tensor\":" + quote(name) + ",\"version\":"
                    + lease.info().version() + ",\"contentVersion\":" + lease.info().contentVersion() + ",\"dtype\":"
                    + quote(tensor.dtype()) + ",\"shape\":" + tensor.shape().toString().replace(" ", "")
                    + ",\"bytes\":" + tensor.sizeBytes() + ",\"sha256\":" + quote(HexFormat.of().formatHex(digest))
                    + "}");
        }
    }

    private Optional<String> versionDigest(String model) {
        Optional<ActiveVersion> leased = store.acquire(model);
        if (leased.isEmpty()) {
            return Optional.empty();
        }
        try (ActiveVersion lease = leased.get()) {
            byte[] digest = lease.sha256(0, lease.info().sizeBytes());
            return Optional.of("{\"model\":" + quote(model) + ",\"version\":" + lease.info().version()
                    + ",\"contentVersion\":" + lease.info().contentVersion() + ",\"bytes\":"
                    + lease.info().sizeBytes() + ",\"sha256\":" + quote(HexFormat.of().formatHex(digest)) + "}");
        }
    }

    private static void send(HttpExchange exchange, Optional<String> body) throws IOException {
        if (body.isPresent()) {
            send(exchange, 200, body.get());
        } else {
            send(exchange, 404, error("no such model, tensor, or active version: " + exchange.getRequestURI()));
        }
    }

    private static void send(HttpExchange exchange, int code, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(code, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** {@code /models/{model}}, the model id percent-encoded; append "/sha256" or "/tensors". */
    public static String modelPath(String modelId) {
        return MODELS + encode(modelId);
    }

    /** {@code /models/{model}/tensors/{name}/sha256}, both percent-encoded. */
    public static String tensorDigestPath(String modelId, String tensorName) {
        return modelPath(modelId) + "/tensors/" + encode(tensorName) + "/sha256";
    }

    private static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String decode(String segment) {
        // Percent-decoding only: a '+' in a model id or tensor name is itself, not a space.
        return URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String error(String message) {
        return "{\"error\":" + quote(message) + "}";
    }

    /** Stops serving; the store stays open (it belongs to whoever opened it). */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
