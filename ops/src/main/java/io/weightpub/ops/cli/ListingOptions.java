package io.weightpub.ops.cli;

import io.weightpub.ops.SkippedRecord;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The options of the listing commands ({@code versions}, {@code status}) and their JSON document (a picocli mixin). */
@Internal
public final class ListingOptions {

    @Option(names = "--model", description = "Only this model.")
    String model;

    @Option(names = "--json", description = "JSON instead of a table.")
    boolean json;

    Optional<String> model() {
        return Optional.ofNullable(model);
    }

    /** {@code {"topic": ..., "<name>": [...], "skipped": [...]}}. */
    void printJson(PrintWriter out, String topic, String name, List<?> items, List<SkippedRecord> skipped) {
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("topic", topic);
        document.put(name, items);
        document.put("skipped", skipped);
        Json.print(out, document);
    }

    /** The line for an empty listing: "no <what> in <topic>" or "no <what> of model M in <topic>". */
    String nothing(String what, String topic) {
        return "no " + what + (model == null ? "" : " of model " + model) + " in " + topic;
    }
}
