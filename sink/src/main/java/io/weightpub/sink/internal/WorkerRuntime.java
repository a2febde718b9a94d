package io.weightpub.sink.internal;

import io.weightpub.sink.ReferenceWorker;
import io.weightpub.sink.WeightStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one inference worker keeps across sink writer restarts in this JVM: its weight store, its
 * status reporter, (optionally) its reference HTTP worker and its reader of versions from Kafka.
 */
public final class WorkerRuntime implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerRuntime.class);

    private final String sinkName;
    private final int worker;
    private final WeightStore store;
    private final StatusReporter reporter;
    private final ReferenceWorker http;
    private final KafkaChunkReader replay;

    WorkerRuntime(String sinkName, int worker, WeightStore store, StatusReporter reporter, ReferenceWorker http,
            KafkaChunkReader replay) {
        this.sinkName = sinkName;
        this.worker = worker;
        this.store = store;
        this.reporter = reporter;
        this.http = http;
        this.replay = replay;
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

    /** The reference worker, or null when the sink runs without it. */
    public ReferenceWorker http() {
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
            if (http != null) {
                http.close();
            }
        } finally {
            try {
                reporter.close();
            } finally {
                store.close();
            }
        }
    }
}
