package io.weightpub.sink.internal;

import io.weightpub.events.WeightEvent;
import io.weightpub.testutils.TestVersion;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SerializersTest {

    @Test
    void writerStateRoundTripsWithCommittedVersionsTheirLocationStagedRangesAndChunkOffsets() throws Exception {
        WriterState state = new WriterState(2, List.of(
                new WriterState.ModelState("llm",
                        new WriterState.CommittedVersion("p-7", 7, 5, 70, new byte[] {1, 2, 3}, new byte[] {4, 5}),
                        List.of(
                        new WriterState.PublishState("p-8", 80, 1000, -1, -1, 123L,
                                List.of(new WriterState.ByteRange(0, 400), new WriterState.ByteRange(600, 1000)),
                                List.of(new WriterState.SourceRange(0, 10, 12), new WriterState.SourceRange(3, 40, 40)),
                                null),
                        new WriterState.PublishState("p-9", 90, 50, 9, 9, 456L, List.of(), List.of(),
                                new byte[] {9, 9}))),
                new WriterState.ModelState("other", new WriterState.CommittedVersion("q-1", 1, 1, 10, null, null),
                        List.of())));

        byte[] bytes = WriterStateSerializer.INSTANCE.serialize(state);
        WriterState back = WriterStateSerializer.INSTANCE.deserialize(WriterStateSerializer.INSTANCE.getVersion(), bytes);

        assertThat(back).isEqualTo(state);
        assertThat(back.models().get(0).inFlight().get(0).stagedByteCount()).isEqualTo(800);
        assertThatThrownBy(() -> WriterStateSerializer.INSTANCE.deserialize(99, bytes)).hasMessageContaining("99");
    }

    @Test
    void writerStateRoundTripsDeferredPublishesAndHeldCommitsInOrder() throws Exception {
        WeightEvent first = TestVersion.of("org/llm", 3, 2, 1024).commit();
        WeightEvent second = TestVersion.of("org/llm", 4, 2, 1024).commit();
        WriterState state = new WriterState(1, List.of(new WriterState.ModelState("org/llm", null,
                List.of(new WriterState.PublishState("p-3", 30, 2048, -1, -1, 5L, List.of(), List.of(), null, true)),
                List.of(first, second))));

        WriterState back = WriterStateSerializer.INSTANCE.deserialize(WriterStateSerializer.INSTANCE.getVersion(),
                WriterStateSerializer.INSTANCE.serialize(state));

        assertThat(back).isEqualTo(state);
        assertThat(back.models().get(0).inFlight().get(0).deferred()).isTrue();
        assertThat(back.models().get(0).heldCommits()).containsExactly(first, second);
    }

    @Test
    void writerStateOfVersionOneIsReadWithoutLocationsOrManifests() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeInt(0);
        out.writeInt(1);
        out.writeUTF("llm");
        out.writeBoolean(true);
        out.writeUTF("p-7");
        out.writeLong(7);
        out.writeLong(7);
        out.writeLong(70);
        out.writeInt(1);
        out.writeUTF("p-8");
        out.writeLong(80);
        out.writeLong(1000);
        out.writeLong(-1);
        out.writeLong(-1);
        out.writeLong(123);
        out.writeInt(0);
        out.writeInt(1);
        out.writeInt(2);
        out.writeLong(5);
        out.writeLong(9);

        WriterState back = WriterStateSerializer.INSTANCE.deserialize(1, out.getCopyOfBuffer());

        assertThat(back).isEqualTo(new WriterState(0, List.of(new WriterState.ModelState("llm",
                new WriterState.CommittedVersion("p-7", 7, 7, 70, null, null),
                List.of(new WriterState.PublishState("p-8", 80, 1000, -1, -1, 123, List.of(),
                        List.of(new WriterState.SourceRange(2, 5, 9)), null))))));
    }

    @Test
    void flipCommittableRoundTripsWithItsOriginAndVersionOneReadsWithout() throws Exception {
        FlipCommittable c = new FlipCommittable(1, "llm", "p-3", 3, 2, 30, 4096, 99L,
                "rollback to version 2 (resident flip)");
        byte[] bytes = FlipCommittableSerializer.INSTANCE.serialize(c);
        assertThat(FlipCommittableSerializer.INSTANCE.deserialize(2, bytes)).isEqualTo(c);

        DataOutputSerializer v1 = new DataOutputSerializer(64);
        v1.writeInt(1);
        v1.writeUTF("llm");
        v1.writeUTF("p-3");
        v1.writeLong(3);
        v1.writeLong(2);
        v1.writeLong(30);
        v1.writeLong(4096);
        v1.writeLong(99);
        assertThat(FlipCommittableSerializer.INSTANCE.deserialize(1, v1.getCopyOfBuffer()))
                .isEqualTo(new FlipCommittable(1, "llm", "p-3", 3, 2, 30, 4096, 99L, ""));
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
