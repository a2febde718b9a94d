package io.weightpub.publisher.cli;

import io.weightpub.publisher.CheckpointFormatException;
import io.weightpub.publisher.PublishException;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine.Command;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ServiceLoader;

/**
 * {@code weightpub}: the command line of weightpub. Built-in subcommands are {@code generate}
 * and {@code publish}; other modules add theirs through {@link WeightpubSubcommand}, or a caller
 * adds them to {@link #commandLine()} with {@link CommandLine#addSubcommand(Object)}.
 *
 * <p>Exit codes: 0 success, 1 the command failed (the message says why), 2 bad usage.
 */
@Command(name = "weightpub", mixinStandardHelpOptions = true, version = "weightpub 0.1.0",
        description = "Publishes model weights from RL trainers to inference workers through Kafka.",
        subcommands = {CommandLine.HelpCommand.class, GenerateCommand.class, PublishCommand.class})
@Internal
public final class WeightpubCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Without a subcommand: print the usage. */
    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    /** A fresh command line with every subcommand found on the classpath registered. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new WeightpubCli());
        for (WeightpubSubcommand extra : ServiceLoader.load(WeightpubSubcommand.class)) {
            cli.addSubcommand(extra);
        }
        cli.setExecutionExceptionHandler((e, command, parseResult) -> {
            command.getErr().println(command.getCommandSpec().qualifiedName() + ": " + describe(e));
            command.getErr().flush();
            return 1;
        });
        return cli;
    }

    /** The message for a failure; a stack trace only where the error is not one the user can fix. */
    private static String describe(Exception e) {
        if (e instanceof CheckpointFormatException || e instanceof PublishException
                || e instanceof IllegalArgumentException || e instanceof IOException) {
            return e.getMessage();
        }
        StringWriter trace = new StringWriter();
        e.printStackTrace(new PrintWriter(trace));
        return trace.toString();
    }

    public static void main(String[] args) {
        // The jar's own logging setup (warnings to stderr) unless the user brings one.
        if (System.getProperty("log4j2.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", "weightpub-cli-log4j2.properties");
        }
        System.exit(commandLine().execute(args));
    }
}
