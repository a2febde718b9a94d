package io.weightpub.ops.cli;

import io.weightpub.ops.OpsException;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * The common frame of the operations commands: Kafka options, and failures the user can act on
 * (an {@link OpsException}, a Kafka error) printed as one line with exit code 1.
 */
abstract class OpsCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Override
    public final Integer call() throws IOException {
        try {
            return run();
        } catch (OpsException e) {
            return fail(e.getMessage());
        } catch (KafkaException e) {
            return fail("Kafka" + (kafka.bootstrapServers == null ? "" : " at " + kafka.bootstrapServers) + ": "
                    + e.getMessage() + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")"));
        }
    }

    /** The command's work; its exit code. */
    abstract int run() throws IOException;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    private int fail(String message) {
        err().println(spec.qualifiedName() + ": " + message);
        err().flush();
        return 1;
    }
}
