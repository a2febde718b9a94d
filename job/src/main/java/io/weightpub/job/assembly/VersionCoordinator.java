package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.internal.VersionedStateSerializer;
import io.weightpub.job.source.InputRecord;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.signing.SignatureVerifier;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;

import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The job's per-model coordinator (keyed by model): runs {@link PublishCoordinator} on the receipts,
 * manifests and control records of its models, with its ledger, publishes in flight and retained
 * versions in Flink keyed state (metadata only: payload never reaches it). It emits commit, abort
 * and bucket-complete events for the workers and the status, version-index and dead-letter records
 * on {@link OutboundRecord#TAG}. State names are those of the assembler it replaced.
 */
@Internal
public final class VersionCoordinator
        extends KeyedProcessFunction<String, Either<ChunkReceipt, InputRecord>, WeightEvent> {

    private static final long serialVersionUID = 1L;

    /** The topics' prefix: {@link TopicNames} itself is not serializable. */
    private final String topicPrefix;
    private final long publishTimeoutMs;
    private final int retainedVersions;
    private final int deadLetterMaxRawBytes;
    private final PublishLimits limits;
    private final SignatureVerifier signatures;

    private transient PublishCoordinator coordinator;
    private transient PublishLifecycle lifecycle;
    private transient FlinkContext context;

    public VersionCoordinator(TopicNames topics, long publishTimeoutMs, int retainedVersions,
            int deadLetterMaxRawBytes, PublishLimits limits, SignatureVerifier signatures) {
        if (publishTimeoutMs <= 0 || retainedVersions < 1 || deadLetterMaxRawBytes < 0) {
            throw new IllegalArgumentException(String.format(
                    "publish timeout %d ms must be positive, retained versions %d at least 1, "
                            + "dead-letter raw bytes %d not negative",
                    publishTimeoutMs, retainedVersions, deadLetterMaxRawBytes));
        }
        this.topicPrefix = Objects.requireNonNull(topics, "topics").prefix();
        this.publishTimeoutMs = publishTimeoutMs;
        this.retainedVersions = retainedVersions;
        this.deadLetterMaxRawBytes = deadLetterMaxRawBytes;
        this.limits = Objects.requireNonNull(limits, "limits");
        this.signatures = Objects.requireNonNull(signatures, "signatures");
    }

    @Override
    public void open(OpenContext openContext) {
        context = new FlinkContext(
                getRuntimeContext().getState(new ValueStateDescriptor<>(
                        "model-ledger", new VersionedStateSerializer<>(ModelLedgerSerializer.class))),
                getRuntimeContext().getMapState(new MapStateDescriptor<>(
                        "publishes-in-flight",
                        StringSerializer.INSTANCE,
                        new VersionedStateSerializer<>(PublishAssemblySerializer.class))),
                getRuntimeContext().getMapState(new MapStateDescriptor<>(
                        "retained-versions",
                        LongSerializer.INSTANCE,
                        new VersionedStateSerializer<>(RetainedVersionSerializer.class))));
        Set<String> inFlight = new HashSet<>();
        AssemblerMetrics metrics = new AssemblerMetrics(getRuntimeContext().getMetricGroup(), inFlight);
        PublishChecks checks = new PublishChecks(limits);
        TopicNames topics = TopicNames.of(topicPrefix);
        lifecycle = new PublishLifecycle(topics, publishTimeoutMs, retainedVersions, checks,
                new AssemblerRecords(topics.status(), topics.deadLetters(), deadLetterMaxRawBytes), metrics, inFlight);
        coordinator = new PublishCoordinator(checks, signatures, lifecycle, metrics);
    }

    @Override
    public void processElement(Either<ChunkReceipt, InputRecord> input, Context ctx, Collector<WeightEvent> out)
            throws Exception {
        context.bind(ctx.timerService(), out, r -> ctx.output(OutboundRecord.TAG, r));
        if (input.isLeft()) {
            coordinator.onChunk(context, input.left());
            return;
        }
        InputRecord record = input.right();
        switch (record.kind()) {
            case MANIFEST -> coordinator.onManifest(context, record);
            case CONTROL -> coordinator.onControl(context, record);
            default -> throw new IllegalStateException("a chunk record reached the coordinator unchecked: " + record);
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<WeightEvent> out) throws Exception {
        context.bind(ctx.timerService(), out, r -> ctx.output(OutboundRecord.TAG, r));
        lifecycle.expire(context);
    }

    /** The coordinator's view of the current key's Flink state, timers and outputs. */
    private static final class FlinkContext implements CoordinatorContext {
        private final ValueState<ModelLedger> ledger;
        private final MapState<String, PublishAssembly> publishes;
        private final MapState<Long, RetainedVersion> retained;
        private TimerService timers;
        private Collector<WeightEvent> events;
        private Consumer<Tuple3<String, byte[], byte[]>> outbound;

        FlinkContext(ValueState<ModelLedger> ledger, MapState<String, PublishAssembly> publishes,
                MapState<Long, RetainedVersion> retained) {
            this.ledger = ledger;
            this.publishes = publishes;
            this.retained = retained;
        }

        void bind(TimerService timers, Collector<WeightEvent> events,
                Consumer<Tuple3<String, byte[], byte[]>> outbound) {
            this.timers = timers;
            this.events = events;
            this.outbound = outbound;
        }

        @Override
        public ModelLedger ledger() throws Exception {
            ModelLedger value = ledger.value();
            return value == null ? new ModelLedger() : value;
        }

        @Override
        public void updateLedger(ModelLedger value) throws Exception {
            ledger.update(value);
        }

        @Override
        public PublishAssembly publish(String publishId) throws Exception {
            return publishes.get(publishId);
        }

        @Override
        public void putPublish(PublishAssembly progress) throws Exception {
            publishes.put(progress.publishId, progress);
        }

        @Override
        public void removePublish(String publishId) throws Exception {
            publishes.remove(publishId);
        }

        @Override
        public Iterable<PublishAssembly> publishes() throws Exception {
            return publishes.values();
        }

        @Override
        public RetainedVersion retained(long version) throws Exception {
            return retained.get(version);
        }

        @Override
        public void putRetained(long version, RetainedVersion value) throws Exception {
            retained.put(version, value);
        }

        @Override
        public void removeRetained(long version) throws Exception {
            retained.remove(version);
        }

        @Override
        public long now() {
            return timers.currentProcessingTime();
        }

        @Override
        public void timerAt(long timestampMs) {
            timers.registerProcessingTimeTimer(timestampMs);
        }

        @Override
        public void emit(WeightEvent event) {
            events.collect(event);
        }

        @Override
        public void outbound(Tuple3<String, byte[], byte[]> record) {
            outbound.accept(record);
        }
    }
}
