package io.weightpub.ops.cli;

import io.weightpub.ops.Rollback;
import io.weightpub.ops.RollbackResult;
import io.weightpub.publisher.cli.WeightpubSubcommand;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.schemas.signing.RecordSigner;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.IOException;
import java.time.Duration;

@Command(name = "rollback", mixinStandardHelpOptions = true,
        description = "Rolls a model back: the job publishes the content of an earlier version as a new version."
                + " Refuses versions the index does not know or whose chunks are gone, unless --force.")
@Internal
public final class RollbackCommand extends OpsCommand implements WeightpubSubcommand {

    @Option(names = "--model", required = true, description = "Model id.")
    String model;

    @Option(names = "--to", required = true, paramLabel = "VERSION", description = "The version whose content becomes current again.")
    long targetVersion;

    @Mixin
    SigningOptions signing;

    @Option(names = "--reason", defaultValue = "", description = "Why; recorded with the new version.")
    String reason;

    @Option(names = "--force", description = "Send the request even if the version index does not know the version"
            + " or its chunks are no longer retained.")
    boolean force;

    @Option(names = "--wait", paramLabel = "SECONDS",
            description = "Wait up to SECONDS for the job to publish the new version, and print it.")
    Integer waitSeconds;

    @Option(names = "--wait-workers", description = "With --wait: also wait until every worker that has reported on the"
            + " status topic has committed the new version.")
    boolean waitWorkers;

    @Option(names = "--workers", paramLabel = "N", description = "With --wait: wait until N workers have committed the"
            + " new version (implies --wait-workers).")
    Integer workers;

    @Override
    int run() throws IOException {
        RecordSigner signer = signing.signer();
        Rollback.Builder builder = Rollback.builder().modelId(model).targetVersion(targetVersion).reason(reason).force(force)
                .signer(signer);
        if (waitSeconds != null) {
            if (waitSeconds < 1) {
                throw new ParameterException(spec.commandLine(), "--wait needs at least 1 second, got " + waitSeconds);
            }
            builder.waitFor(Duration.ofSeconds(waitSeconds));
        } else if (waitWorkers || workers != null) {
            throw new ParameterException(spec.commandLine(), "--wait-workers and --workers need --wait SECONDS");
        }
        if (workers != null) {
            if (workers < 1) {
                throw new ParameterException(spec.commandLine(), "--workers needs at least 1, got " + workers);
            }
            builder.waitForWorkers(workers);
        } else if (waitWorkers) {
            builder.waitForWorkers(0);
        }
        RollbackResult result = builder.build().execute(kafka.connection(), kafka.topics());
        if (result.newVersion().isEmpty()) {
            out().println("sent rollback request " + result.requestId() + ": model " + model + " to version "
                    + targetVersion + "; `weightpub status --model " + model + "` shows when the job has published it");
        } else {
            out().println("model " + model + " rolled back to the content of version " + targetVersion
                    + " as version " + result.newVersion().getAsLong() + " (request " + result.requestId() + ")");
            for (WorkerStatus worker : result.workers()) {
                out().println("worker " + worker.getWorker() + ": " + worker.getState() + " version " + worker.getVersion());
            }
        }
        if (signer != null) {
            out().println("request signed with key " + signer.keyId());
        }
        out().flush();
        return 0;
    }
}
