package io.weightpub.events;

import org.apache.flink.annotation.PublicEvolving;

/** Type information that makes Flink use {@link WeightEventSerializer} rather than Kryo. */
@PublicEvolving
public final class WeightEventTypeInfo extends SerializerTypeInfo<WeightEvent> {

    private static final long serialVersionUID = 1L;
    public static final WeightEventTypeInfo INSTANCE = new WeightEventTypeInfo();

    private WeightEventTypeInfo() {
        super(WeightEvent.class, WeightEventSerializer.INSTANCE);
    }
}
