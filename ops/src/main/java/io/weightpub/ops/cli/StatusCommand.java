package io.weightpub.ops.cli;

import io.weightpub.ops.StatusReader;
import io.weightpub.ops.StatusReport;
import io.weightpub.ops.WorkerState;
import io.weightpub.ops.internal.TextTable;
import io.weightpub.publisher.cli.WeightpubSubcommand;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.IOException;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows per model and worker (worker 'job' is the job itself) the latest state, the active"
                + " version, a staged publish and the last error, from the status topic.")
@Internal
public final class StatusCommand extends OpsCommand implements WeightpubSubcommand {

    @Mixin
    ListingOptions listing;

    @Override
    int run() throws IOException {
        StatusReport report = new StatusReader(kafka.connection(), kafka.topics()).read(listing.model());
        Formats.warnSkipped(err(), report.skipped());
        if (listing.json) {
            listing.printJson(out(), report.topic(), "workers", report.workers(), report.skipped());
            return 0;
        }
        if (report.workers().isEmpty()) {
            out().println(listing.nothing("status records", report.topic()));
            out().flush();
            return 0;
        }
        TextTable table = new TextTable(
                "MODEL", "WORKER", "STATE", "VERSION", "ACTIVE", "STAGED", "AT", "LAST ERROR", "MESSAGE");
        for (WorkerState w : report.workers()) {
            table.row(w.modelId(), w.isJob() ? "job" : String.valueOf(w.worker()), w.state(), version(w.version(),
                    w.contentVersion()), version(w.activeVersion(), w.activeContentVersion()),
                    w.stagedPublish().isEmpty() ? "-" : w.stagedPublish(), Formats.time(w.timestampMs()),
                    w.lastError().isEmpty() ? "-" : Formats.time(w.lastErrorAtMs()) + " " + Formats.clip(w.lastError(), 60),
                    Formats.clip(w.message(), 60));
        }
        table.print(out());
        return 0;
    }

    /** A version, with the version whose content it carries when that differs (a rollback). */
    private static String version(long version, long contentVersion) {
        if (version < 0) {
            return "-";
        }
        return contentVersion >= 0 && contentVersion != version ? version + " (=" + contentVersion + ")" : String.valueOf(version);
    }
}
