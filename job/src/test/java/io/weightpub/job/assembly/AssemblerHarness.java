package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.job.source.InputRecord;
import io.weightpub.job.testutils.RandomPublish;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.DeadLetter;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WeightChunk;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WorkerStatus;

import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** The checker and the coordinator ({@link PipelineHarness}), with helpers to feed records and read its outputs. */
final class AssemblerHarness implements AutoCloseable {

    static final TopicNames TOPICS = TopicNames.of("unit");

    private final PipelineHarness harness;
    private long nextOffset;

    AssemblerHarness(PipelineHarness pipeline) throws Exception {
        harness = pipeline;
        harness.open();
    }

    void chunks(List<WeightChunk> chunks) throws Exception {
        for (WeightChunk chunk : chunks) {
            send(InputRecord.Kind.CHUNK, chunk.getModelId(), WireCodec.CHUNK.encode(chunk));
        }
    }

    void manifest(VersionManifest manifest) throws Exception {
        send(InputRecord.Kind.MANIFEST, manifest.getModelId(), WireCodec.MANIFEST.encode(manifest));
    }

    void publish(RandomPublish version) throws Exception {
        chunks(version.chunks());
        manifest(version.manifest());
    }

    void control(ControlRecord control) throws Exception {
        send(InputRecord.Kind.CONTROL, control.getModelId(), WireCodec.CONTROL.encode(control));
    }

    void send(InputRecord.Kind kind, String modelKey, byte[] value) throws Exception {
        String topic = kind == InputRecord.Kind.CHUNK
                ? TOPICS.chunks()
                : kind == InputRecord.Kind.MANIFEST ? TOPICS.manifests() : TOPICS.control();
        harness.processElement(new StreamRecord<>(new InputRecord(kind, topic, 0, nextOffset++, 0, modelKey, value)));
    }

    /** Bytes of keyed state a checkpoint now takes. */
    long stateBytes() throws Exception {
        OperatorSubtaskState snapshot = harness.snapshot(1, 1);
        return snapshot.getStateSize();
    }

    List<WeightEvent> events() {
        return harness.extractOutputValues();
    }

    List<WeightEvent> events(WeightEvent.Kind kind) {
        return events().stream().filter(e -> e.kind() == kind).collect(Collectors.toList());
    }

    List<Tuple3<String, byte[], byte[]>> outbound(String topic) {
        List<Tuple3<String, byte[], byte[]>> records = new ArrayList<>();
        for (StreamRecord<Tuple3<String, byte[], byte[]>> record : harness.getSideOutput()) {
            if (record.getValue().f0.equals(topic)) {
                records.add(record.getValue());
            }
        }
        return records;
    }

    List<WorkerStatus> statuses() throws Exception {
        return decoded(TOPICS.status(), WireCodec.STATUS);
    }

    List<DeadLetter> deadLetters() throws Exception {
        return decoded(TOPICS.deadLetters(), WireCodec.DEAD_LETTER);
    }

    private <T extends SpecificRecord> List<T> decoded(String topic, WireCodec<T> codec) throws Exception {
        List<T> values = new ArrayList<>();
        for (Tuple3<String, byte[], byte[]> record : outbound(topic)) {
            values.add(codec.decode(record.f2));
        }
        return values;
    }

    @Override
    public void close() throws Exception {
        harness.close();
    }
}
