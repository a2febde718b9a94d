package io.weightpub.publisher.cli;

import org.apache.flink.annotation.PublicEvolving;

/**
 * A subcommand that another module adds to {@code weightpub}: a picocli {@code @Command} class
 * with a public no-argument constructor that implements this interface and is listed in
 * {@code META-INF/services/io.weightpub.publisher.cli.WeightpubSubcommand}. {@link WeightpubCli}
 * finds it with {@link java.util.ServiceLoader}, so it works from the shaded CLI jar as well as
 * from any classpath that holds the module.
 */
@PublicEvolving
public interface WeightpubSubcommand {
}
