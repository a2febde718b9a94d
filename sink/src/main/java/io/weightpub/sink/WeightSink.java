package io.weightpub.sink;

import io.weightpub.sink.internal.FlipCommittable;
import io.weightpub.sink.internal.FlipCommittableSerializer;
import io.weightpub.sink.internal.FlipCommitter;
import io.weightpub.sink.internal.WeightSinkWriter;
import io.weightpub.sink.internal.WorkerRegistry;
import io.weightpub.sink.internal.WorkerRuntime;
import io.weightpub.sink.internal.WriterState;
import io.weightpub.sink.internal.WriterStateSerializer;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.net.URI;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
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
 * <p>A worker's store lives in the JVM beyond its writer: a restarted writer resumes with it, and
 * the weights stay served after the job ends, until {@link #release(String)}.
 */
public final class WeightSink
        implements Sink<WeightEvent>, SupportsWriterState<WeightEvent, WriterState>, SupportsCommitter<FlipCommittable> {

    private static final long serialVersionUID = 1L;

    private final String name;
    private final WeightStoreConfig storeConfig;
    private final CommitMode commitMode;
    private final String statusTopic;
    private final String bootstrapServers;
    private final Properties producerProperties;
    private final boolean workerHttp;
    private final int httpBasePort;

    private WeightSink(Builder b) {
        this.name = b.name;
        this.storeConfig = b.store.build();
        this.commitMode = b.commitMode;
        this.statusTopic = b.statusTopic;
        this.bootstrapServers = b.bootstrapServers;
        this.producerProperties = new Properties();
        this.producerProperties.putAll(b.producerProperties);
        this.workerHttp = b.workerHttp;
        this.httpBasePort = b.httpBasePort;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder preset from {@link SinkOptions}; status topic and producer settings may still be added. */
    public static Builder fromConfig(ReadableConfig config) {
        Builder builder = builder()
                .name(config.get(SinkOptions.NAME))
                .backend(config.get(SinkOptions.BACKEND))
                .commitMode(config.get(SinkOptions.COMMIT_MODE))
                .slotsPerModel(config.get(SinkOptions.SLOTS_PER_MODEL))
                .workerHttp(config.get(SinkOptions.WORKER_HTTP))
                .httpBasePort(config.get(SinkOptions.WORKER_HTTP_BASE_PORT))
                .cudaDevice(config.get(SinkOptions.CUDA_DEVICE))
                .stagingRing(config.get(SinkOptions.STAGING_BUFFERS),
                        (int) Math.min(Integer.MAX_VALUE, config.get(SinkOptions.STAGING_BUFFER_SIZE).getBytes()))
                .copyThreads(config.get(SinkOptions.COPY_THREADS))
                .verifyThreads(config.get(SinkOptions.VERIFY_THREADS))
                .leaseWaitTimeout(config.get(SinkOptions.LEASE_WAIT_TIMEOUT));
        Optional<String> topic = config.getOptional(SinkOptions.STATUS_TOPIC);
        if (topic.isPresent()) {
            builder.statusTopic(topic.get(), config.getOptional(SinkOptions.BOOTSTRAP_SERVERS).orElse(null));
        }
        return builder;
    }

    @Override
    public StatefulSinkWriter<WeightEvent, WriterState> createWriter(WriterInitContext context) {
        return restoreWriter(context, List.of());
    }

    @Override
    public StatefulSinkWriter<WeightEvent, WriterState> restoreWriter(
            WriterInitContext context, Collection<WriterState> recoveredState) {
        return new WeightSinkWriter(this, context.getTaskInfo().getIndexOfThisSubtask(),
                context.getRestoredCheckpointId(), recoveredState);
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

    public boolean workerHttp() {
        return workerHttp;
    }

    public int httpBasePort() {
        return httpBasePort;
    }

    /** Builder; {@link #build()} checks every setting. */
    public static final class Builder {
        private String name = SinkOptions.NAME.defaultValue();
        private final WeightStoreConfig.Builder store = WeightStoreConfig.builder();
        private CommitMode commitMode = CommitMode.ON_CHECKPOINT;
        private String statusTopic;
        private String bootstrapServers;
        private final Properties producerProperties = new Properties();
        private boolean workerHttp;
        private int httpBasePort;

        private Builder() {}

        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        public Builder backend(StoreBackend backend) {
            store.backend(backend);
            return this;
        }

        public Builder commitMode(CommitMode commitMode) {
            this.commitMode = Objects.requireNonNull(commitMode, "commitMode");
            return this;
        }

        public Builder slotsPerModel(int slots) {
            store.slotsPerModel(slots);
            return this;
        }

        /** Writes status records to {@code topic} through Kafka at {@code bootstrapServers}. */
        public Builder statusTopic(String topic, String bootstrapServers) {
            this.statusTopic = Objects.requireNonNull(topic, "topic");
            this.bootstrapServers = bootstrapServers;
            return this;
        }

        /** Extra Kafka producer settings for the status topic (security, client id, ...). */
        public Builder producerProperties(Properties properties) {
            this.producerProperties.putAll(properties);
            return this;
        }

        public Builder workerHttp(boolean enabled) {
            this.workerHttp = enabled;
            return this;
        }

        /** Worker i's reference worker listens on {@code basePort + i}; 0 picks ephemeral ports. */
        public Builder httpBasePort(int basePort) {
            this.httpBasePort = basePort;
            return this;
        }

        public Builder cudaDevice(int ordinal) {
            store.cudaDevice(ordinal);
            return this;
        }

        public Builder stagingRing(int buffers, int bufferBytes) {
            store.stagingBuffers(buffers).stagingBufferBytes(bufferBytes);
            return this;
        }

        public Builder copyThreads(int threads) {
            store.copyThreads(threads);
            return this;
        }

        public Builder verifyThreads(int threads) {
            store.verifyThreads(threads);
            return this;
        }

        public Builder leaseWaitTimeout(java.time.Duration timeout) {
            store.leaseWaitTimeout(timeout);
            return this;
        }

        public WeightSink build() {
            if (name.isBlank()) {
                throw new IllegalArgumentException("the sink name must not be blank");
            }
            if (statusTopic != null && (bootstrapServers == null || bootstrapServers.isBlank())) {
                throw new IllegalArgumentException(
                        "status topic " + statusTopic + " is set but no Kafka bootstrap servers are");
            }
            if (httpBasePort < 0 || httpBasePort > 65535) {
                throw new IllegalArgumentException("worker HTTP base port " + httpBasePort + " is not a port");
            }
            return new WeightSink(this);
        }
    }
}
