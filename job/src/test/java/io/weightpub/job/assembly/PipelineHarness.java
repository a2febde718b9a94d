package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.source.InputRecord;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.signing.SignatureVerifier;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.types.Either;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The job's checker and coordinator as one operator would be: each record goes through {@link
 * ChunkChecks} (what a {@link ChunkChecker} does), then its receipt or pass-through record into a
 * {@link VersionCoordinator} in Flink's keyed test harness. Stage events and the coordinator's events
 * land in one output, in the order a single worker channel would see them if every channel were
 * equally fast; dead letters of both in one outbound queue.
 */
final class PipelineHarness implements AutoCloseable {

    private final ChunkChecks checks;
    private final KeyedOneInputStreamOperatorTestHarness<String, Either<ChunkReceipt, InputRecord>, WeightEvent>
            coordinator;
    private final ConcurrentLinkedQueue<StreamRecord<Tuple3<String, byte[], byte[]>>> outbound =
            new ConcurrentLinkedQueue<>();

    PipelineHarness(TopicNames topics, long timeoutMs, int retained, int deadLetterMaxRawBytes, PublishLimits limits)
            throws Exception {
        this(topics, timeoutMs, retained, deadLetterMaxRawBytes, limits, SignatureVerifier.acceptingAll());
    }

    PipelineHarness(TopicNames topics, long timeoutMs, int retained, int deadLetterMaxRawBytes, PublishLimits limits,
            SignatureVerifier signatures) throws Exception {
        checks = new ChunkChecks(new PublishChecks(limits),
                new AssemblerRecords(topics.status(), topics.deadLetters(), deadLetterMaxRawBytes));
        coordinator = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new VersionCoordinator(topics, timeoutMs, retained, deadLetterMaxRawBytes,
                        limits, signatures)),
                ChunkChecker.BY_MODEL, Types.STRING);
    }

    PipelineHarness(TopicNames topics, long timeoutMs, int retained, int deadLetterMaxRawBytes) throws Exception {
        this(topics, timeoutMs, retained, deadLetterMaxRawBytes, PublishLimits.defaults());
    }

    void open() throws Exception {
        coordinator.open();
    }

    void initializeState(OperatorSubtaskState state) throws Exception {
        coordinator.initializeState(state);
    }

    void processElement(StreamRecord<InputRecord> element) throws Exception {
        ChunkChecks.Checked checked = checks.check(element.getValue(), coordinator.getProcessingTime());
        if (checked.stage() != null) {
            coordinator.getOutput().add(new StreamRecord<>(checked.stage()));
        }
        if (checked.deadLetter() != null) {
            outbound.add(new StreamRecord<>(checked.deadLetter()));
        }
        if (checked.receipt() != null) {
            // What Flink does between checker and coordinator: the receipt crosses the network.
            ChunkReceipt receipt = roundTrip(checked.receipt());
            coordinator.processElement(new StreamRecord<>(Either.Left(receipt)));
        } else if (checked.passThrough() != null) {
            coordinator.processElement(new StreamRecord<>(Either.Right(checked.passThrough())));
        }
        drainCoordinatorOutbound();
    }

    void setProcessingTime(long time) throws Exception {
        coordinator.setProcessingTime(time);
        drainCoordinatorOutbound();
    }

    OperatorSubtaskState snapshot(long checkpointId, long timestamp) throws Exception {
        return coordinator.snapshot(checkpointId, timestamp);
    }

    List<WeightEvent> extractOutputValues() {
        return coordinator.extractOutputValues();
    }

    ConcurrentLinkedQueue<Object> getOutput() {
        return coordinator.getOutput();
    }

    /** Dead letters, statuses and index entries of the checker and the coordinator, in order. */
    ConcurrentLinkedQueue<StreamRecord<Tuple3<String, byte[], byte[]>>> getSideOutput() {
        return outbound;
    }

    private void drainCoordinatorOutbound() {
        ConcurrentLinkedQueue<StreamRecord<Tuple3<String, byte[], byte[]>>> side =
                coordinator.getSideOutput(OutboundRecord.TAG);
        if (side != null) {
            outbound.addAll(side);
            side.clear();
        }
    }

    private static ChunkReceipt roundTrip(ChunkReceipt receipt) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(256);
        ChunkReceiptSerializer.INSTANCE.serialize(receipt, out);
        return ChunkReceiptSerializer.INSTANCE.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }

    @Override
    public void close() throws Exception {
        coordinator.close();
    }
}
