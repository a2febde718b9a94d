package io.weightpub.ops.cli;

import io.weightpub.ops.ControlClient;
import io.weightpub.publisher.cli.WeightpubSubcommand;
import io.weightpub.schemas.ControlRecord;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;

@Command(name = "reset-step", mixinStandardHelpOptions = true,
        description = "Asks the job to reset a model's step watermark: publishes must then be after --step, or,"
                + " without --step, may have any step. The way out when a publish with a wrong (huge) step made"
                + " every later one stale. `weightpub status` shows the job's answer.")
@Internal
public final class ResetStepCommand extends OpsCommand implements WeightpubSubcommand {

    @Option(names = "--model", required = true, description = "Model id.")
    String model;

    @Option(names = "--step", paramLabel = "STEP",
            description = "The new watermark; left out, the watermark is forgotten.")
    Long step;

    @Mixin
    SigningOptions signing;

    @Option(names = "--reason", defaultValue = "", description = "Why; recorded with the reset.")
    String reason;

    @Override
    int run() throws IOException {
        try (ControlClient control = new ControlClient(kafka.connection(), kafka.topics(), signing.signer())) {
            ControlRecord sent = control.resetStep(model, step, reason);
            out().println("sent reset-step request " + sent.getRequestId() + " for model " + model + ": "
                    + (step == null ? "forget the step watermark" : "step watermark " + step)
                    + (sent.getKeyId() == null ? "" : ", signed with key " + sent.getKeyId()));
        }
        out().flush();
        return 0;
    }
}
