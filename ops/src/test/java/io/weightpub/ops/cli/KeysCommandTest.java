package io.weightpub.ops.cli;

import io.weightpub.publisher.cli.WeightpubCli;
import io.weightpub.schemas.signing.SigningKey;
import io.weightpub.schemas.signing.TrustedKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;

class KeysCommandTest {

    @TempDir
    Path dir;

    @Test
    void keysGenerateWritesAnOwnerOnlyPrivateKeyAndAScopedPublicKeyWithTheSameKeyId() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = WeightpubCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));

        int code = cli.execute("keys", "generate", "--out", dir.toString(), "--name", "oncall",
                "--models", "meta/*,qwen/*");

        assertThat(code).as(err.toString()).isZero();
        Path privateKey = dir.resolve("oncall.key.pem");
        Path publicKey = dir.resolve("oncall.pub.pem");
        assertThat(Files.getPosixFilePermissions(privateKey)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        SigningKey signing = SigningKey.load(privateKey);
        TrustedKey trusted = TrustedKey.load(publicKey);
        assertThat(trusted.keyId()).isEqualTo(signing.keyId());
        assertThat(trusted.modelPatterns()).containsExactly("meta/*", "qwen/*");
        assertThat(out.toString()).startsWith("key id " + signing.keyId() + "\n");

        int again = cli.execute("keys", "generate", "--out", dir.toString(), "--name", "oncall");
        assertThat(again).as("never overwrites a key").isEqualTo(1);
        assertThat(err.toString()).contains("oncall.key.pem exists; refusing to overwrite a key");
    }
}
