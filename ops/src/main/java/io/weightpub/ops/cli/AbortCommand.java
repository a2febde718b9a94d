package io.weightpub.ops.cli;

import io.weightpub.ops.ControlClient;
import io.weightpub.publisher.cli.WeightpubSubcommand;
import io.weightpub.schemas.ControlRecord;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;

@Command(name = "abort", mixinStandardHelpOptions = true,
        description = "Asks the job to abort an in-flight publish; `weightpub status` shows its answer"
                + " (ABORTED, or REJECTED when the publish is not in flight).")
@Internal
public final class AbortCommand extends OpsCommand implements WeightpubSubcommand {

    @Option(names = "--model", required = true, description = "Model id.")
    String model;

    @Option(names = "--publish", required = true, paramLabel = "ID", description = "Publish id to abort.")
    String publishId;

    @Mixin
    SigningOptions signing;

    @Option(names = "--reason", defaultValue = "", description = "Why; recorded with the abort.")
    String reason;

    @Override
    int run() throws IOException {
        try (ControlClient control = new ControlClient(kafka.connection(), kafka.topics(), signing.signer())) {
            ControlRecord sent = control.abort(model, publishId, reason);
            out().println("sent abort request " + sent.getRequestId() + " for publish " + publishId + " of model " + model
                    + (sent.getKeyId() == null ? "" : ", signed with key " + sent.getKeyId()));
        }
        out().flush();
        return 0;
    }
}
