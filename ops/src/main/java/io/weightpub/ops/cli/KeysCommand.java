package io.weightpub.ops.cli;

import io.weightpub.publisher.cli.WeightpubSubcommand;
import io.weightpub.schemas.signing.KeyFiles;
import io.weightpub.schemas.signing.SigningKey;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "keys", mixinStandardHelpOptions = true,
        description = "Signing keys of trainers (publisher keys) and operators (operator keys).",
        subcommands = {KeysCommand.Generate.class})
@Internal
public final class KeysCommand implements WeightpubSubcommand, Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = "Writes a new Ed25519 key pair: NAME.key.pem (PKCS#8 private key, mode 0600) for the"
                    + " signer and NAME.pub.pem (X.509 public key with its Key-Id line) for the verifiers."
                    + " Never overwrites a file.")
    static final class Generate implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to write the two files to.")
        Path out;

        @Option(names = "--name", required = true, description = "File name stem, e.g. trainer-a or oncall.")
        String name;

        @Option(names = "--models", split = ",", paramLabel = "PATTERN",
                description = "Model ids the key may sign for, e.g. meta/*,qwen/* ('*' any run, '?' one character);"
                        + " written as the public key's Models line. Default: every model.")
        List<String> models = List.of();

        @Override
        public Integer call() throws IOException {
            KeyFiles.Written written = KeyFiles.write(SigningKey.generate(), out, name, models);
            PrintWriter stdout = spec.commandLine().getOut();
            stdout.println("key id " + written.keyId());
            stdout.println("private key " + written.privateKey() + " (mode 0600; give it only to the signer)");
            stdout.println("public key  " + written.publicKey()
                    + " (copy it into the verifiers' publisher or operator key folder)");
            stdout.flush();
            return 0;
        }
    }
}
