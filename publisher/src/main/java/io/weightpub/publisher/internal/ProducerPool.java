package io.weightpub.publisher.internal;

import org.apache.flink.annotation.Internal;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The producers one publisher sends through, created when first used. Transactional, producer 0
 * has the configured transactional id {@code <id>} and producer {@code k > 0} has
 * {@code <id>-<k>}, so a restarted trainer with the same id and producer count fences every one of
 * its predecessor's producers, and producer 0 fences a predecessor that ran with one producer. A transactional producer registers its {@code
 * transaction.timeout.ms} when it initialises transactions, so a publish that needs a longer one
 * than the producers have replaces them all.
 */
@Internal
public final class ProducerPool implements AutoCloseable {

    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

    private final Map<String, Object> config;
    private final boolean transactional;
    private final Duration explicitTimeout;
    private final KafkaProducer<byte[], byte[]>[] producers;
    /** The {@code transaction.timeout.ms} the next producers register (the explicit one if the user set it). */
    private Duration transactionTimeout;

    @SuppressWarnings("unchecked")
    public ProducerPool(Map<String, Object> config, boolean transactional, int size) {
        this.config = Map.copyOf(config);
        this.transactional = transactional;
        Object explicit = config.get(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG);
        this.explicitTimeout = explicit == null ? null : Duration.ofMillis(Long.parseLong(explicit.toString()));
        this.transactionTimeout = explicitTimeout != null ? explicitTimeout : TransactionTimeouts.KAFKA_DEFAULT;
        this.producers = new KafkaProducer[size];
    }

    public int size() {
        return producers.length;
    }

    /** Whether the user set {@code transaction.timeout.ms}: then it is used as is, never sized. */
    public boolean explicitTimeout() {
        return explicitTimeout != null;
    }

    /** The transaction timeout of the producers (those there are and those to come). */
    public synchronized Duration transactionTimeout() {
        return transactionTimeout;
    }

    /**
     * Makes sure the producers' transactions may stay open for {@code needed}: producers with a
     * shorter timeout are closed so that the next ones register {@code needed}. Returns the
     * timeout the producers will have.
     */
    public synchronized Duration ensureTimeout(Duration needed) {
        if (explicitTimeout != null || needed.compareTo(transactionTimeout) <= 0) {
            return transactionTimeout;
        }
        for (int k = 0; k < producers.length; k++) {
            if (producers[k] != null) {
                producers[k].close(CLOSE_TIMEOUT);
                producers[k] = null;
            }
        }
        transactionTimeout = needed;
        return needed;
    }

    /** Producer {@code k}, created (and its transactions initialised) if there is none. */
    public synchronized KafkaProducer<byte[], byte[]> producer(int k) {
        if (producers[k] == null) {
            producers[k] = newProducer(k);
        }
        return producers[k];
    }

    /** The transactional id of producer {@code k}. */
    public String transactionalId(int k) {
        String id = (String) config.get(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        return k == 0 ? id : id + "-" + k;
    }

    /**
     * After a failure producers may hold a half-sent share or be fenced: abort the transactions
     * of those in {@code inTransaction}, then close every producer so the next publish starts on
     * fresh ones. What goes wrong meanwhile is added to {@code failure}.
     */
    public synchronized void discard(boolean[] inTransaction, Exception failure) {
        for (int k = 0; k < producers.length; k++) {
            KafkaProducer<byte[], byte[]> p = producers[k];
            if (p == null) {
                continue;
            }
            if (transactional && inTransaction[k]) {
                try {
                    p.abortTransaction();
                } catch (RuntimeException e) {
                    failure.addSuppressed(e);
                }
            }
            try {
                p.close(Duration.ZERO);
            } catch (RuntimeException e) {
                failure.addSuppressed(e);
            }
            producers[k] = null;
        }
    }

    private KafkaProducer<byte[], byte[]> newProducer(int k) {
        Map<String, Object> c = new LinkedHashMap<>(config);
        if (producers.length > 1) {
            c.put(ProducerConfig.CLIENT_ID_CONFIG, config.get(ProducerConfig.CLIENT_ID_CONFIG) + "-" + k);
        }
        if (transactional) {
            c.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId(k));
            c.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) Math.min(Integer.MAX_VALUE, transactionTimeout.toMillis()));
        }
        KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(c, new ByteArraySerializer(), new ByteArraySerializer());
        if (transactional) {
            try {
                p.initTransactions();
            } catch (RuntimeException e) {
                p.close(Duration.ZERO);
                throw e;
            }
        }
        return p;
    }

    @Override
    public synchronized void close() {
        for (int k = 0; k < producers.length; k++) {
            if (producers[k] != null) {
                producers[k].close(CLOSE_TIMEOUT);
                producers[k] = null;
            }
        }
    }
}
