package io.weightpub.job.assembly;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.util.OutputTag;

/** A record for one of the job's output topics (status, versions, dead letters): topic, key, value. */
@Internal
public final class OutboundRecord {

    public static final TypeInformation<Tuple3<String, byte[], byte[]>> TYPE_INFO =
            Types.TUPLE(Types.STRING, Types.PRIMITIVE_ARRAY(Types.BYTE), Types.PRIMITIVE_ARRAY(Types.BYTE));

    /** The side output of the checkers and coordinators that the job writes to these topics. */
    public static final OutputTag<Tuple3<String, byte[], byte[]>> TAG = new OutputTag<>("outbound", TYPE_INFO);

    private OutboundRecord() {}

    public static Tuple3<String, byte[], byte[]> of(String topic, byte[] key, byte[] value) {
        return Tuple3.of(topic, key, value);
    }
}
