package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;
import io.weightpub.events.WeightEventTypeInfo;
import io.weightpub.job.source.InputRecord;
import io.weightpub.job.source.InputRecordDeserializer;
import io.weightpub.schemas.TopicNames;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.Objects;

/**
 * The stateless first stage of the job, chained to the Kafka source at its parallelism: it checks
 * every chunk record ({@link ChunkChecks}) where it was read, sends a good chunk's payload on to
 * every worker ({@link #STAGE}, a slice of the record's value) and then its {@link ChunkReceipt} to
 * the model's coordinator (the main output, with manifests and control records passed through).
 * Payload bytes never reach a coordinator. Bad chunks are dead-lettered here ({@link
 * OutboundRecord#TAG}), with the raw record.
 */
@Internal
public final class ChunkChecker extends ProcessFunction<InputRecord, Either<ChunkReceipt, InputRecord>> {

    private static final long serialVersionUID = 1L;

    /** Stage events of checked chunks, for every worker. */
    public static final OutputTag<WeightEvent> STAGE = new OutputTag<>("stage-chunks", WeightEventTypeInfo.INSTANCE);

    /** What the checker sends the coordinators: receipts of chunks, manifests and control records as read. */
    public static final TypeInformation<Either<ChunkReceipt, InputRecord>> OUTPUT_TYPE =
            new EitherTypeInfo<>(ChunkReceiptSerializer.TYPE_INFO, InputRecordDeserializer.TYPE_INFO);

    /** Routes the checker's output to the coordinator of the model it names. */
    public static final KeySelector<Either<ChunkReceipt, InputRecord>, String> BY_MODEL = new ByModel();

    private final String statusTopic;
    private final String deadLetterTopic;
    private final int deadLetterMaxRawBytes;
    private final PublishLimits limits;

    private transient ChunkChecks checks;
    private transient Counter chunksChecked;
    private transient Counter bytesChecked;
    private transient Counter deadLettered;

    public ChunkChecker(TopicNames topics, int deadLetterMaxRawBytes, PublishLimits limits) {
        this.statusTopic = topics.status();
        this.deadLetterTopic = topics.deadLetters();
        this.deadLetterMaxRawBytes = deadLetterMaxRawBytes;
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    @Override
    public void open(OpenContext openContext) {
        checks = new ChunkChecks(new PublishChecks(limits),
                new AssemblerRecords(statusTopic, deadLetterTopic, deadLetterMaxRawBytes));
        chunksChecked = getRuntimeContext().getMetricGroup().counter("chunksChecked");
        bytesChecked = getRuntimeContext().getMetricGroup().counter("bytesChecked");
        deadLettered = getRuntimeContext().getMetricGroup().counter("deadLettered");
    }

    @Override
    public void processElement(InputRecord record, Context ctx, Collector<Either<ChunkReceipt, InputRecord>> out) {
        ChunkChecks.Checked checked = checks.check(record, ctx.timerService().currentProcessingTime());
        if (record.kind() == InputRecord.Kind.CHUNK) {
            chunksChecked.inc();
            bytesChecked.inc(record.valueSize());
        }
        // The payload goes out before its receipt: by the time a coordinator counts a chunk (and
        // before the next checkpoint barrier), its bytes are on their way to every worker.
        if (checked.stage() != null) {
            ctx.output(STAGE, checked.stage());
        }
        if (checked.deadLetter() != null) {
            ctx.output(OutboundRecord.TAG, checked.deadLetter());
            deadLettered.inc();
        }
        if (checked.receipt() != null) {
            out.collect(Either.Left(checked.receipt()));
        } else if (checked.passThrough() != null) {
            out.collect(Either.Right(checked.passThrough()));
        }
    }

    private static final class ByModel implements KeySelector<Either<ChunkReceipt, InputRecord>, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(Either<ChunkReceipt, InputRecord> value) {
            return value.isLeft() ? value.left().modelId() : value.right().modelKey();
        }
    }
}
