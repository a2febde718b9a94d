package io.weightpub.demo;

import io.weightpub.sink.ReferenceWorker;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Readers that keep asking every reference worker for the SHA-256 of the whole active version
 * (read under one lease) while versions flip underneath, and check each answer against the digest
 * computed from the source checkpoint for the version the worker names. A mixed version would show
 * up as a digest that matches no version.
 */
final class ConsistencyProbe implements AutoCloseable {

    private static final long PAUSE_MILLIS = 100;
    private static final Pattern VERSION = Pattern.compile("\"version\":(\\d+)");
    private static final Pattern SHA256 = Pattern.compile("\"sha256\":\"([0-9a-f]{64})\"");

    private final Map<Long, String> expected = new ConcurrentHashMap<>();
    private final AtomicLong reads = new AtomicLong();
    private final AtomicLong mismatches = new AtomicLong();
    private final List<String> firstMismatches = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;

    ConsistencyProbe(List<URI> workers, String model) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        for (URI worker : workers) {
            Thread thread = new Thread(() -> probe(client, worker.resolve(ReferenceWorker.modelPath(model) + "/sha256")),
                    "consistency-probe-" + worker.getPort());
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
    }

    /** Registers the digest the workers must report for {@code version}, before it is published. */
    void expect(long version, String sha256) {
        expected.put(version, sha256);
    }

    private void probe(HttpClient client, URI uri) {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET().build();
        while (running) {
            try {
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 200) {
                    Thread.sleep(20);
                    continue;
                }
                check(uri, response.body());
                // Each read hashes a whole version; pausing keeps the probe from starving the pipeline it watches.
                Thread.sleep(PAUSE_MILLIS);
            } catch (InterruptedException e) {
                return;
            } catch (java.io.IOException e) {
                if (running) {
                    record(uri + " failed: " + e);
                }
            }
        }
    }

    private void check(URI uri, String body) {
        Matcher version = VERSION.matcher(body);
        Matcher sha = SHA256.matcher(body);
        if (!version.find() || !sha.find()) {
            record(uri + " answered without version and digest: " + body);
            return;
        }
        reads.incrementAndGet();
        String want = expected.get(Long.parseLong(version.group(1)));
        if (want == null || !want.equals(sha.group(1))) {
            record(uri + " served version " + version.group(1) + " with sha256 " + sha.group(1) + ", expected "
                    + want);
        }
    }

    private synchronized void record(String mismatch) {
        mismatches.incrementAndGet();
        if (firstMismatches.size() < 5) {
            firstMismatches.add(mismatch);
        }
    }

    long reads() {
        return reads.get();
    }

    long mismatches() {
        return mismatches.get();
    }

    synchronized List<String> firstMismatches() {
        return List.copyOf(firstMismatches);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        for (Thread thread : threads) {
            thread.join(30_000);
        }
    }
}
