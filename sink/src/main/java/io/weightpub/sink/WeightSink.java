package io.weightpub.sink;

import io.weightpub.events.WeightEvent;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.sink.engine.EngineServing;
import io.weightpub.sink.internal.FlipCommittable;
import io.weightpub.sink.internal.FlipCommittableSerializer;
import io.weightpub.sink.internal.FlipCommitter;
import io.weightpub.sink.internal.WeightSinkWriter;
import io.weightpub.sink.internal.WorkerRegistry;
import io.weightpub.sink.internal.WorkerRuntime;
import io.weightpub.sink.internal.WorkerSettings;
import io.weightpub.sink.internal.WriterState;
import io.weightpub.sink.internal.WriterStateSerializer;
import io.weightpub.store.WeightStore;
import io.weightpub.store.WeightStoreConfig;
import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;

import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * Flink Sink V2 that publishes weights into inference workers: one subtask per worker, each
 * owning that worker's {@link WeightStore}. Feed it the job's events broadcast, so that every
 * worker receives every version:
 *
 * <pre>{@code
 * WeightSink sink = WeightSink.builder()
 *         .statusTopic(topics.status(), bootstrapServers)
 *         .build();
 * events.broadcast().sinkTo(sink).name("weights").setParallelism(workers);
 * }</pre>
 *
 * <p>A worker's store lives in the JVM beyond its writer: a writer restarted within the job resumes
 * with it. When the job leaves the TaskManager (cancelled, stopped with a savepoint, failed for good)
 * its workers are released there: stores, reference workers and Kafka clients, so a resubmitted job
 * starts from free memory and ports. Only a job whose input ended (a bounded job) keeps its weights
 * served after it, until {@link #release(String)}.
 */
@PublicEvolving
public final class WeightSink
        implements Sink<WeightEvent>, SupportsWriterState<WeightEvent, WriterState>, SupportsCommitter<FlipCommittable> {

    private static final long serialVersionUID = 1L;

    private final String name;
    private final WeightStoreConfig storeConfig;
    private final CommitMode commitMode;
    private final String statusTopic;
    private final String bootstrapServers;
    private final Properties producerProperties;
    private final Properties consumerProperties;
    private final String chunksTopic;
    private final int replayFetchMaxBytes;
    private final int replayPartitionFetchMaxBytes;
    private final Duration replayStallTimeout;
    private final boolean workerHttp;
    private final int httpBasePort;
    private final SignatureVerifier signatures;
    private final EngineServing engineServing;

    WeightSink(WeightSinkBuilder b) {
        this.name = b.name;
        this.storeConfig = b.store.build();
        this.commitMode = b.commitMode;
        this.statusTopic = b.statusTopic;
        this.bootstrapServers = b.bootstrapServers;
        this.producerProperties = new Properties();
        this.producerProperties.putAll(b.producerProperties);
        this.consumerProperties = new Properties();
        this.consumerProperties.putAll(b.consumerProperties);
        this.chunksTopic = b.chunksTopic;
        this.replayFetchMaxBytes = b.replayFetchMaxBytes;
        this.replayPartitionFetchMaxBytes = b.replayPartitionFetchMaxBytes;
        this.replayStallTimeout = b.replayStallTimeout;
        this.workerHttp = b.workerHttp;
        this.httpBasePort = b.httpBasePort;
        this.signatures = b.signatures;
        this.engineServing = b.engineServing;
        if (engineServing != null && engineServing.leaseTimeout().compareTo(storeConfig.leaseWaitTimeout()) >= 0) {
            throw new IllegalArgumentException("engine lease timeout " + engineServing.leaseTimeout()
                    + " must be shorter than the lease wait timeout " + storeConfig.leaseWaitTimeout()
                    + ", or a stuck engine fails the publishes that wait for its slot");
        }
    }

    public static WeightSinkBuilder builder() {
        return new WeightSinkBuilder();
    }

    /** A builder preset from {@link SinkOptions}; status topic and Kafka client settings may still be added. */
    public static WeightSinkBuilder fromConfig(ReadableConfig config) {
        return WeightSinkBuilder.fromConfig(config);
    }


    @Override
    public StatefulSinkWriter<WeightEvent, WriterState> createWriter(WriterInitContext context) {
        return restoreWriter(context, List.of());
    }

    @Override
    public StatefulSinkWriter<WeightEvent, WriterState> restoreWriter(
            WriterInitContext context, Collection<WriterState> recoveredState) {
        String jobId = context.getJobInfo().getJobId().toString();
        // Runs when the job's classloader is released on this TaskManager: the job is gone here, not restarting.
        context.getUserCodeClassLoader().registerReleaseHookIfAbsent("weightpub-sink-" + name + "-" + jobId,
                () -> WorkerRegistry.releaseJob(name, jobId));
        return new WeightSinkWriter(workerSettings(), context.getTaskInfo().getIndexOfThisSubtask(), jobId,
                context.getRestoredCheckpointId(), recoveredState, context.metricGroup());
    }

    @Override
    public SimpleVersionedSerializer<WriterState> getWriterStateSerializer() {
        return WriterStateSerializer.INSTANCE;
    }

    @Override
    public Committer<FlipCommittable> createCommitter(CommitterInitContext context) {
        return new FlipCommitter(name);
    }

    @Override
    public SimpleVersionedSerializer<FlipCommittable> getCommittableSerializer() {
        return FlipCommittableSerializer.INSTANCE;
    }

    /** The store of worker {@code worker} of sink {@code sinkName} in this JVM, if its writer ran here. */
    public static Optional<WeightStore> store(String sinkName, int worker) {
        return WorkerRegistry.get(sinkName, worker).map(WorkerRuntime::store);
    }

    /** The reference worker's base URI (http://127.0.0.1:port) of that worker, if it runs in this JVM. */
    public static Optional<URI> workerUri(String sinkName, int worker) {
        return WorkerRegistry.get(sinkName, worker).map(WorkerRuntime::http).map(ReferenceWorker::uri);
    }

    /** Stops the sink's reference workers and frees its stores in this JVM; returns how many workers. */
    public static int release(String sinkName) {
        return WorkerRegistry.release(sinkName);
    }

    public String name() {
        return name;
    }

    public WeightStoreConfig storeConfig() {
        return storeConfig;
    }

    public CommitMode commitMode() {
        return commitMode;
    }

    public Optional<String> statusTopic() {
        return Optional.ofNullable(statusTopic);
    }

    public Optional<String> bootstrapServers() {
        return Optional.ofNullable(bootstrapServers);
    }

    /** A copy of the extra producer properties for the status topic. */
    public Properties producerProperties() {
        Properties copy = new Properties();
        copy.putAll(producerProperties);
        return copy;
    }

    /**
     * Settings of the consumer that re-reads versions from the chunks topic (bootstrap servers, large
     * fetches, the extra consumer properties), or empty when no bootstrap servers are set.
     */
    public Optional<Properties> replayConsumerProperties() {
        if (bootstrapServers == null) {
            return Optional.empty();
        }
        Properties props = new Properties();
        props.setProperty(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(replayFetchMaxBytes));
        props.setProperty(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(replayPartitionFetchMaxBytes));
        props.setProperty(ConsumerConfig.RECEIVE_BUFFER_CONFIG, String.valueOf(4 << 20));
        props.putAll(consumerProperties);
        props.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return Optional.of(props);
    }

    /** The chunks topic, where lost chunks of publishes in flight are re-read after a restore. */
    public Optional<String> chunksTopic() {
        return Optional.ofNullable(chunksTopic);
    }

    /** How long a re-read of a version may receive nothing from Kafka before it fails. */
    public Duration replayStallTimeout() {
        return replayStallTimeout;
    }

    public boolean workerHttp() {
        return workerHttp;
    }

    public int httpBasePort() {
        return httpBasePort;
    }

    /**
     * Checks the manifest signature of each version before the worker commits it (defence in
     * depth behind the job's own check); built where the job is, it travels with the sink.
     */
    public SignatureVerifier signatures() {
        return signatures;
    }

    /** Where and how workers serve engine processes; empty: they do not. */
    public Optional<EngineServing> engineServing() {
        return Optional.ofNullable(engineServing);
    }

    /** Where HOST slots become files when engines are served and no directory is set. */
    public static final String DEFAULT_SHARED_MEMORY_DIRECTORY = "/dev/shm";

    /** What one worker's writer and runtime take from this sink; a fresh copy of the Kafka properties. */
    @Internal
    public WorkerSettings workerSettings() {
        return new WorkerSettings(name, commitMode, signatures, chunksTopic, storeConfig, statusTopic, bootstrapServers,
                producerProperties(), workerHttp, httpBasePort, replayConsumerProperties(), replayStallTimeout,
                engineServing().orElse(null));
    }
}
