package io.weightpub.sink.engine;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonTest {

    @Test
    void whatIsWrittenParsesBackToTheSameValues() {
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("type", "version");
        message.put("name", "a \"quoted\" \\ name\n\u0001é");
        message.put("size", 1L << 40);
        message.put("ms", 2.5);
        message.put("ok", true);
        message.put("none", null);
        message.put("shape", List.of(4L, 3L));
        message.put("nested", Map.of("k", List.of()));

        assertThat(Json.parse(Json.write(message))).isEqualTo(message);
    }

    @Test
    void malformedInputIsRefusedWithWhereItBroke() {
        assertThatThrownBy(() -> Json.parse("{\"a\":1")).hasMessageContaining("at character 6");
        assertThatThrownBy(() -> Json.parse("{\"a\":1} x")).hasMessageContaining("trailing");
        assertThatThrownBy(() -> Json.parse("[".repeat(100))).hasMessageContaining("nested deeper than 16");
        assertThatThrownBy(() -> Json.parse("{\"a\":tru}")).hasMessageContaining("unexpected 't'");
    }
}
