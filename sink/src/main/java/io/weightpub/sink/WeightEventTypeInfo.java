package io.weightpub.sink;

import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/** Type information that makes Flink use {@link WeightEventSerializer} rather than Kryo. */
public final class WeightEventTypeInfo extends TypeInformation<WeightEvent> {

    private static final long serialVersionUID = 1L;
    public static final WeightEventTypeInfo INSTANCE = new WeightEventTypeInfo();

    @Override
    public boolean isBasicType() {
        return false;
    }

    @Override
    public boolean isTupleType() {
        return false;
    }

    @Override
    public int getArity() {
        return 1;
    }

    @Override
    public int getTotalFields() {
        return 1;
    }

    @Override
    public Class<WeightEvent> getTypeClass() {
        return WeightEvent.class;
    }

    @Override
    public boolean isKeyType() {
        return false;
    }

    @Override
    public TypeSerializer<WeightEvent> createSerializer(SerializerConfig config) {
        return WeightEventSerializer.INSTANCE;
    }

    @Override
    public String toString() {
        return "WeightEvent";
    }

    @Override
    public boolean equals(Object obj) {
        return obj instanceof WeightEventTypeInfo;
    }

    @Override
    public int hashCode() {
        return WeightEventTypeInfo.class.hashCode();
    }

    @Override
    public boolean canEqual(Object obj) {
        return obj instanceof WeightEventTypeInfo;
    }
}
