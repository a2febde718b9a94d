package io.weightpub.sink.internal;

import io.weightpub.sink.ReferenceWorker;
import io.weightpub.store.WeightStore;
import org.apache.flink.annotation.Internal;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Properties;

import java.io.UncheckedIOException;
import java.net.BindException;
import java.util.concurrent.TimeUnit;

/**
 * What one inference worker keeps across sink writer restarts in this JVM: its weight store, its
 * status reporter, (optionally) its reference HTTP worker and its reader of versions from Kafka.
 */
@Internal
public final class WorkerRuntime implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerRuntime.class);

    private final String sinkName;
    private final int worker;
    private final WeightStore store;
    private final StatusReporter reporter;
    private ReferenceWorker http;
    private final KafkaChunkReader replay;
    private volatile boolean keptAfterInput;

    WorkerRuntime(String sinkName, int worker, WeightStore store, StatusReporter reporter, ReferenceWorker http,
            KafkaChunkReader replay) {
        this.sinkName = sinkName;
        this.worker = worker;
        this.store = store;
        this.reporter = reporter;
        this.http = http;
        this.replay = replay;
    }

    /**
     * Opens worker {@code worker}'s store, status reporter, reference worker and Kafka reader; what
     * was opened is closed again if a later part fails, so a failed start holds no memory or port.
     */
    static WorkerRuntime create(WorkerSettings sink, int worker) {
        WeightStore store = WeightStore.open(sink.storeConfig(), worker);
        StatusReporter reporter = null;
        ReferenceWorker http = null;
        try {
            reporter = new StatusReporter(worker, sink.statusTopic(), sink.bootstrapServers(),
                    sink.producerProperties());
            http = sink.workerHttp()
                    ? startHttp(store, worker, sink.httpPort(worker))
                    : null;
            KafkaChunkReader replay = sink.replayConsumerProperties().map(settings -> {
                Properties props = new Properties();
                props.putAll(settings);
                props.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "weightpub-replay-" + sink.sinkName() + "-" + worker);
                return new KafkaChunkReader(props, sink.replayStallTimeout());
            }).orElse(null);
            return new WorkerRuntime(sink.sinkName(), worker, store, reporter, http, replay);
        } catch (RuntimeException e) {
            if (http != null) {
                http.close();
            }
            if (reporter != null) {
                reporter.close();
            }
            store.close();
            throw e;
        }
    }

    /** Binds the reference worker; a fixed port still held by a worker being released is retried briefly. */
    private static ReferenceWorker startHttp(WeightStore store, int worker, int port) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                return ReferenceWorker.start(store, worker, port);
            } catch (UncheckedIOException e) {
                if (port == 0 || !(e.getCause() instanceof BindException) || System.nanoTime() > deadline) {
                    throw e;
                }
                LOG.info("worker {}: port {} still in use, retrying", worker, port);
                try {
                    Thread.sleep(100);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /**
     * Starts the reference worker again for a writer restarted within the job (its predecessor
     * stopped it, so that a fixed port is free wherever the restarted task runs).
     */
    synchronized void serveHttp(WorkerSettings sink) {
        if (sink.workerHttp() && http == null) {
            http = startHttp(store, worker, sink.httpPort(worker));
        }
    }

    /** Stops the reference worker and frees its port; the store keeps its weights. */
    synchronized void stopHttp() {
        if (http != null) {
            http.close();
            http = null;
        }
    }

    /** Keeps this runtime when its job leaves the TaskManager: its input ended, its weights stay served. */
    void keepAfterInput() {
        keptAfterInput = true;
    }

    boolean keptAfterInput() {
        return keptAfterInput;
    }

    public int worker() {
        return worker;
    }

    public WeightStore store() {
        return store;
    }

    public StatusReporter reporter() {
        return reporter;
    }

    /** The reference worker, or null when the sink runs without it or while its writer restarts. */
    public synchronized ReferenceWorker http() {
        return http;
    }

    /** Re-reads versions from Kafka; null when the sink has no Kafka bootstrap servers. */
    public KafkaChunkReader replay() {
        return replay;
    }

    @Override
    public void close() {
        LOG.info("sink {} worker {}: releasing {}", sinkName, worker, store.describe());
        try {
            stopHttp();
        } finally {
            try {
                reporter.close();
            } finally {
                store.close();
            }
        }
    }
}
