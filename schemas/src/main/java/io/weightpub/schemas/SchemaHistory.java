package io.weightpub.schemas;

import org.apache.avro.Schema;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Earlier versions of the wire schemas, kept as resources {@code history/<Name>.v<N>.avsc} (N from
 * 1, fully inlined). Records already in Kafka were written with them, so every codec of the current
 * schema registers them as writer schemas. When a schema changes, copy its current form here first
 * as the next version (appended fields need defaults so the old records resolve).
 */
final class SchemaHistory {

    private SchemaHistory() {}

    /** The earlier versions of the record named {@code schema}, oldest first; empty if it never changed. */
    static List<Schema> earlierVersionsOf(Schema schema) {
        List<Schema> versions = new ArrayList<>();
        for (int v = 1; ; v++) {
            String resource = "history/" + schema.getName() + ".v" + v + ".avsc";
            try (InputStream in = SchemaHistory.class.getResourceAsStream(resource)) {
                if (in == null) {
                    return versions;
                }
                Schema older = new Schema.Parser().parse(in);
                if (older.getFullName().equals(schema.getFullName())) {
                    versions.add(older);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the schema resource " + resource, e);
            }
        }
    }
}
