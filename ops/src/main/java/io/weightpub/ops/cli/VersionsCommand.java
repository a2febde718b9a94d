package io.weightpub.ops.cli;

import io.weightpub.ops.VersionIndex;
import io.weightpub.ops.VersionIndexReader;
import io.weightpub.ops.IndexedVersion;
import io.weightpub.ops.internal.TextTable;
import io.weightpub.publisher.ByteSize;
import io.weightpub.publisher.cli.WeightpubSubcommand;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

@Command(name = "versions", mixinStandardHelpOptions = true,
        description = "Lists the version index (latest entry per model and version) and whether each version's"
                + " chunks are still in Kafka, i.e. whether it can be rolled back to.")
@Internal
public final class VersionsCommand extends OpsCommand implements WeightpubSubcommand {

    @Mixin
    ListingOptions listing;

    @Override
    int run() throws IOException {
        VersionIndex index = new VersionIndexReader(kafka.connection(), kafka.topics()).read(listing.model());
        Formats.warnSkipped(err(), index.skipped());
        if (listing.json) {
            listing.printJson(out(), index.topic(), "versions", index.versions(), index.skipped());
            return 0;
        }
        if (index.versions().isEmpty()) {
            out().println(listing.nothing("versions", index.topic()));
            out().flush();
            return 0;
        }
        // The signing key column appears once any listed version was signed.
        boolean signed = index.versions().stream().anyMatch(v -> v.keyId() != null);
        List<String> header = new ArrayList<>(List.of(
                "MODEL", "VERSION", "CONTENT", "STEP", "PUBLISH", "SIZE", "MANIFEST", "COMPLETED", "RETAINED"));
        if (signed) {
            header.add("SIGNED BY");
        }
        header.add("REASON");
        TextTable table = new TextTable(header.toArray(String[]::new));
        for (IndexedVersion v : index.versions()) {
            List<Object> row = new ArrayList<>(List.of(v.modelId(), v.version(), v.contentVersion(), v.step(),
                    v.publishId(), ByteSize.format(v.totalBytes()),
                    v.manifestSha256().substring(0, Math.min(12, v.manifestSha256().length())),
                    Formats.time(v.completedAtMs()), v.retained() ? "yes" : "no"));
            if (signed) {
                row.add(v.keyId() == null ? "-" : v.keyId());
            }
            row.add(Formats.clip(v.reason(), 60));
            table.row(row.toArray());
        }
        table.print(out());
        return 0;
    }
}
