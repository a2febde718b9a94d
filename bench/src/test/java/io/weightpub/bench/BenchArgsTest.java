package io.weightpub.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BenchArgsTest {

    @Test
    void positionalArgumentsComeBeforeOptionsAndFlagsNeedNoValue() {
        BenchArgs args = BenchArgs.parse("e2e", "--sizes", "1g,4g", "--quick", "--workers=1,3", "--runs", "2");
        assertThat(args.positional()).containsExactly("e2e");
        assertThat(args.sizes("sizes", List.of())).containsExactly(1L << 30, 4L << 30);
        assertThat(args.ints("workers", List.of())).containsExactly(1, 3);
        assertThat(args.flag("quick")).isTrue();
        assertThat(args.intValue("runs", 3)).isEqualTo(2);
        assertThat(args.bytes("fetch-size", 7)).isEqualTo(7);
    }

    @Test
    void anUnknownOptionIsRefusedRatherThanIgnored() {
        assertThatThrownBy(() -> BenchArgs.parse("--sizez", "1g").allow("sizes"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--sizez");
    }

    @Test
    void aPositionalArgumentAfterAnOptionIsAnError() {
        assertThatThrownBy(() -> BenchArgs.parse("--quick", "true", "stray"))
                .hasMessageContaining("stray");
    }
}
