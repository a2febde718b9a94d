package io.weightpub.schemas;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

class ControlRecordCompatibilityTest {

    @Test
    void aControlRecordWrittenBeforeResetStepExistedStillDecodes() throws Exception {
        Schema old = WireCodec.earlierSchema("ControlRecord-1.avsc");
        GenericRecord record = new GenericData.Record(old);
        record.put("model_id", "m");
        record.put("action", new GenericData.EnumSymbol(old.getField("action").schema(), "ROLLBACK"));
        record.put("target_version", 3L);
        record.put("publish_id", null);
        record.put("request_id", "r-1");
        record.put("reason", "bad eval");
        record.put("requested_at_ms", 5L);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] header = WireCodec.CONTROL.encode(ControlRecord.newBuilder().setModelId("x")
                .setAction(ControlAction.ABORT).setRequestId("x").setRequestedAtMs(0).build());
        out.write(header, 0, 2);
        long fingerprint = WireCodec.fingerprint(old);
        for (int i = 0; i < 8; i++) {
            out.write((int) (fingerprint >>> (8 * i)) & 0xFF);
        }
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(old).write(record, encoder);
        encoder.flush();

        ControlRecord decoded = WireCodec.CONTROL.decode(out.toByteArray());

        assertThat(decoded.getAction()).isEqualTo(ControlAction.ROLLBACK);
        assertThat(decoded.getTargetVersion()).isEqualTo(3L);
        assertThat(decoded.getStep()).isNull();
    }

    @Test
    void resetStepRoundTripsWithAndWithoutAStep() throws Exception {
        ControlRecord reset = ControlRecord.newBuilder().setModelId("m").setAction(ControlAction.RESET_STEP)
                .setStep(42L).setRequestId("r").setRequestedAtMs(0).build();
        assertThat(WireCodec.CONTROL.decode(WireCodec.CONTROL.encode(reset))).isEqualTo(reset);
        ControlRecord forget = ControlRecord.newBuilder(reset).setStep(null).build();
        assertThat(WireCodec.CONTROL.decode(WireCodec.CONTROL.encode(forget)).getStep()).isNull();
    }
}
