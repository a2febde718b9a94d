package io.weightpub.sink.internal;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SerializersTest {

    @Test
    void writerStateRoundTripsWithCommittedVersionsStagedRangesAndChunkOffsets() throws Exception {
        WriterState state = new WriterState(2, List.of(
                new WriterState.ModelState("llm", new WriterState.CommittedVersion("p-7", 7, 5, 70), List.of(
                        new WriterState.PublishState("p-8", 80, 1000, -1, -1, 123L,
                                List.of(new WriterState.ByteRange(0, 400), new WriterState.ByteRange(600, 1000)),
                                List.of(new WriterState.SourceRange(0, 10, 12), new WriterState.SourceRange(3, 40, 40))),
                        new WriterState.PublishState("p-9", 90, 50, 9, 9, 456L, List.of(), List.of()))),
                new WriterState.ModelState("other", null, List.of())));

        byte[] bytes = WriterStateSerializer.INSTANCE.serialize(state);
        WriterState back = WriterStateSerializer.INSTANCE.deserialize(WriterStateSerializer.INSTANCE.getVersion(), bytes);

        assertThat(back).isEqualTo(state);
        assertThat(back.models().get(0).inFlight().get(0).stagedByteCount()).isEqualTo(800);
        assertThatThrownBy(() -> WriterStateSerializer.INSTANCE.deserialize(99, bytes)).hasMessageContaining("99");
    }

    @Test
    void flipCommittableRoundTrips() throws Exception {
        FlipCommittable c = new FlipCommittable(1, "llm", "p-3", 3, 2, 30, 4096, 99L);
        byte[] bytes = FlipCommittableSerializer.INSTANCE.serialize(c);
        assertThat(FlipCommittableSerializer.INSTANCE.deserialize(1, bytes)).isEqualTo(c);
    }

    @Test
    void rangeSetMergesTouchingAndOverlappingRanges() {
        RangeSet set = new RangeSet();
        set.add(10, 20);
        set.add(30, 40);
        set.add(20, 25);
        set.add(24, 31);
        set.add(50, 60);
        set.add(55, 58);
        assertThat(set.toList()).containsExactly(new long[] {10, 40}, new long[] {50, 60});
        assertThat(set.covered()).isEqualTo(40);
    }
}
