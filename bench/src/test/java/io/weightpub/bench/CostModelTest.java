package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class CostModelTest {

    private final CostModel model = new CostModel(Map.of("kafkaFetch", 1.5, "chunkParse", 0.2, "crc32c", 0.02,
            "assembler", 0.3, "eventSerde", 0.25, "slotCopy", 0.1, "slotFirstTouch", 0.4, "sha256", 0.6));

    @Test
    void oneWorkerIsChainedSoNoSerdeAndOneCopyFirstTouchAndDigest() {
        assertThat(model.parts(1)).containsEntry("eventSerde", 0.0).containsEntry("slotCopy", 0.1)
                .containsEntry("sha256", 0.6);
        // first touch counts only what it costs beyond the copy it replaces
        assertThat(model.parts(1).get("firstTouch")).isCloseTo(0.3, within(1e-9));
        assertThat(model.assemblerRest()).isCloseTo(0.08, within(1e-9));
        // fetch + assembler (decode + crc + rest) + copy + first touch + digest
        assertThat(model.total(1)).isCloseTo(1.5 + 0.3 + 0.1 + 0.3 + 0.6, within(1e-9));
        assertThat(model.beyondFetch(1)).isCloseTo(1.3, within(1e-9));
        assertThat(model.largestExtra(1)).isEqualTo("sha256");
    }

    @Test
    void perWorkerStagesScaleWithTheWorkerCount() {
        assertThat(model.total(3)).isCloseTo(1.5 + 0.3 + 3 * (0.25 + 0.1 + 0.3 + 0.6), within(1e-9));
        assertThat(model.parts(3).get("eventSerde")).isCloseTo(0.75, within(1e-9));
    }

    @Test
    void anAssemblerFasterThanItsPartsHasNoNegativeRest() {
        CostModel odd = new CostModel(Map.of("chunkParse", 0.3, "crc32c", 0.1, "assembler", 0.2));
        assertThat(odd.assemblerRest()).isZero();
        assertThat(odd.complete()).isFalse();
        assertThat(CostModel.nsPerByte(1000)).isEqualTo(1.0);
    }
}
