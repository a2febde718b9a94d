package io.weightpub.publisher.internal;

import io.weightpub.publisher.PublishEncoder;
import io.weightpub.publisher.PublishProgress;
import io.weightpub.publisher.PublishProgressListener;
import io.weightpub.publisher.PublishRecords;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import org.apache.flink.annotation.Internal;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Sends a range of a version's buckets through every producer of a {@link ProducerPool} at once:
 * the range is split into {@link Shares}, producer {@code k} sends share {@code k} on its own
 * thread (reading, CRC and SHA-256 included) in its own transaction, and waits until the broker
 * acknowledged all of it. Only when every share got that far are the transactions committed, so a
 * share that fails (a source that throws, a fenced producer, a listener that throws) aborts the
 * others and nothing of the range becomes visible to {@code read_committed} readers. The manifest
 * is sent afterwards, in a transaction of its own, so it can never be visible while one of its
 * chunks may still abort.
 */
@Internal
public final class ParallelSend {

    private final ProducerPool pool;
    private final ExecutorService executor;
    private final TopicNames topics;
    private final boolean transactional;
    private final PublishProgressListener listener;
    private final PublishEncoder encoder;
    private final ChunkPartitions layout;
    private final long startNanos;
    private final boolean[] inTransaction;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private final AtomicLong acked = new AtomicLong();
    private long bytesSent;
    private long chunksSent;
    private long bytesToSend;
    private long chunksToSend;

    public ParallelSend(ProducerPool pool, ExecutorService executor, TopicNames topics, boolean transactional,
            PublishProgressListener listener, PublishEncoder encoder, ChunkPartitions layout, long startNanos) {
        this.pool = pool;
        this.executor = executor;
        this.topics = topics;
        this.transactional = transactional;
        this.listener = listener;
        this.encoder = encoder;
        this.layout = layout;
        this.startNanos = startNanos;
        this.inTransaction = new boolean[pool.size()];
    }

    /**
     * Sends and commits buckets {@code [fromBucket, toBucket)}; returns the chunks sent. On failure
     * every producer is discarded (open transactions aborted) and the first failure is thrown.
     */
    public long sendChunks(int fromBucket, int toBucket) {
        long[] sizes = Arrays.copyOfRange(encoder.bucketSizes(), fromBucket, toBucket);
        for (int b = fromBucket; b < toBucket; b++) {
            bytesToSend += encoder.plan().buckets().get(b).sizeBytes();
            chunksToSend += encoder.chunkCount(b);
        }
        List<Future<?>> running = new ArrayList<>();
        List<Integer> used = new ArrayList<>();
        for (Shares.Share share : Shares.split(sizes, pool.size())) {
            if (!share.isEmpty()) {
                int k = share.index();
                used.add(k);
                running.add(executor.submit(() -> sendShare(k, fromBucket + share.fromBucket(),
                        fromBucket + share.toBucket())));
            }
        }
        boolean interrupted = false;
        for (Future<?> f : running) {
            while (true) {
                try {
                    f.get();
                    break;
                } catch (ExecutionException e) {
                    fail(e.getCause() instanceof Exception ex ? ex : new KafkaException(e.getCause()));
                    break;
                } catch (InterruptedException e) {
                    // Stop the shares, but wait for them: their producers must be idle before they are aborted.
                    interrupted = true;
                    fail(e);
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        try {
            throwIfFailed();
            if (transactional) {
                for (int k : used) {
                    pool.producer(k).commitTransaction();
                    inTransaction[k] = false;
                }
            }
        } catch (RuntimeException e) {
            // A commit that fails after others succeeded leaves committed chunks without a manifest:
            // the job times that publish out (ABORTED), and the next publish has a new publish id.
            pool.discard(inTransaction, e);
            throw e;
        }
        return chunksSent;
    }

    /** Sends the manifest through producer 0, in a transaction of its own, and waits for its acknowledgement. */
    public void sendManifest(VersionManifest manifest) throws ExecutionException, InterruptedException {
        try {
            KafkaProducer<byte[], byte[]> producer = pool.producer(0);
            if (transactional) {
                producer.beginTransaction();
                inTransaction[0] = true;
            }
            Future<RecordMetadata> sent = producer.send(PublishRecords.manifestRecord(topics, manifest));
            if (transactional) {
                producer.commitTransaction();
                inTransaction[0] = false;
            }
            sent.get();
        } catch (RuntimeException | ExecutionException | InterruptedException e) {
            pool.discard(inTransaction, e);
            throw e;
        }
    }

    /** What was sent and acknowledged so far, of the buckets {@link #sendChunks} was given. */
    public PublishProgress progress() {
        synchronized (this) {
            return new PublishProgress(encoder.modelId(), encoder.step(), encoder.publishId(), bytesSent, acked.get(),
                    bytesToSend, chunksSent, chunksToSend, Duration.ofNanos(System.nanoTime() - startNanos));
        }
    }

    private void sendShare(int k, int fromBucket, int toBucket) {
        try {
            KafkaProducer<byte[], byte[]> producer = pool.producer(k);
            AtomicReference<Exception> sendFailure = new AtomicReference<>();
            if (transactional) {
                producer.beginTransaction();
                inTransaction[k] = true;
            }
            for (Iterator<WeightChunk> chunks = encoder.chunks(fromBucket, toBucket); chunks.hasNext(); ) {
                if (stop.get() || sendFailure.get() != null) {
                    break;
                }
                WeightChunk chunk = chunks.next();
                int size = chunk.getPayload().remaining();
                int partition = layout.partition(encoder.chunkSequence(chunk.getBucketIndex(), chunk.getChunkIndex()));
                producer.send(PublishRecords.chunkRecord(topics, chunk, partition), (metadata, e) -> {
                    if (e != null) {
                        sendFailure.compareAndSet(null, e);
                    } else {
                        acked.addAndGet(size);
                    }
                });
                onSent(size);
            }
            // Acknowledged before any share commits: a commit then cannot fail for a record of this share.
            producer.flush();
            if (sendFailure.get() != null) {
                fail(sendFailure.get());
            }
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    private synchronized void onSent(int size) {
        bytesSent += size;
        chunksSent++;
        listener.onProgress(progress());
    }

    private void fail(Exception e) {
        failure.compareAndSet(null, e);
        stop.set(true);
    }

    private void throwIfFailed() {
        Exception e = failure.get();
        if (e != null) {
            throw e instanceof RuntimeException re ? re : new KafkaException(e);
        }
    }
}
