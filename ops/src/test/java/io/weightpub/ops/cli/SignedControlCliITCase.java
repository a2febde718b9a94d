package io.weightpub.ops.cli;

import io.weightpub.ops.testutils.OpsTopics;
import io.weightpub.publisher.cli.WeightpubCli;
import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.VersionIndexEntry;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.schemas.signing.TrustedKeys;
import io.weightpub.testutils.KafkaClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code weightpub rollback|abort --key}: the control records on Kafka carry a verifiable operator signature. */
class SignedControlCliITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @TempDir
    Path dir;

    private record Run(int exitCode, String out, String err) {
    }

    @Test
    void rollbackAbortAndResetStepWithAnOperatorKeySendSignedRequestsThatVerify() throws Exception {
        assertThat(run("keys", "generate", "--out", dir.toString(), "--name", "oncall").exitCode()).isZero();
        Path key = dir.resolve("oncall.key.pem");
        SignatureVerifier verifier = SignatureVerifier.builder()
                .operatorKeys(TrustedKeys.load(dir.resolve("oncall.pub.pem"))).build();
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(kafka.writeChunks(0, 1))));

            Run rollback = run(kafka, "rollback", "--model", "llama", "--to", "1", "--key", key.toString());
            Run abort = run(kafka, "abort", "--model", "llama", "--publish", "p-7", "--key", key.toString());
            Run reset = run(kafka, "reset-step", "--model", "llama", "--step", "5", "--key", key.toString());

            assertThat(rollback.exitCode()).as(rollback.err()).isZero();
            assertThat(abort.exitCode()).as(abort.err()).isZero();
            assertThat(reset.exitCode()).as(reset.err()).isZero();
            List<ControlRecord> sent = kafka.controlRecords();
            assertThat(sent).extracting(ControlRecord::getAction)
                    .containsExactly(ControlAction.ROLLBACK, ControlAction.ABORT, ControlAction.RESET_STEP);
            for (ControlRecord record : sent) {
                assertThat(verifier.checkControl(record)).as(record.toString()).isEmpty();
                assertThat(rollback.out() + abort.out() + reset.out()).contains("signed with key " + record.getKeyId());
            }
            ControlRecord altered = ControlRecord.newBuilder(sent.get(0)).setTargetVersion(2L).build();
            assertThat(verifier.checkControl(altered)).get().asString().contains("bad signature");
        }
    }

    @Test
    void versionsShowsTheKeyThatSignedEachVersionOnceAnyIsSigned() throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(kafka.writeChunks(0, 1))));
            Run unsigned = run(kafka, "versions");
            assertThat(unsigned.out().lines().findFirst().orElseThrow()).doesNotContain("SIGNED BY");

            kafka.write(VersionIndexEntry.newBuilder(kafka.entry("llama", 2, 2, "publish",
                    List.of(kafka.writeChunks(0, 1)))).setKeyId("trainer-a").build());
            Run signed = run(kafka, "versions", "--model", "llama");

            assertThat(signed.exitCode()).as(signed.err()).isZero();
            List<String> lines = signed.out().lines().toList();
            assertThat(lines.get(0)).contains("RETAINED", "SIGNED BY", "REASON");
            assertThat(lines.get(1).split("\\s+")).endsWith("yes", "-", "publish");
            assertThat(lines.get(2).split("\\s+")).endsWith("yes", "trainer-a", "publish");
            assertThat(run(kafka, "versions", "--json").out()).contains("\"keyId\" : \"trainer-a\"");
        }
    }

    @Test
    void aPublicKeyGivenAsTheSigningKeyFailsWithExitCodeOneAndSendsNothing() throws Exception {
        assertThat(run("keys", "generate", "--out", dir.toString(), "--name", "oncall").exitCode()).isZero();
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            Run abort = run(kafka, "abort", "--model", "llama", "--publish", "p-7",
                    "--key", dir.resolve("oncall.pub.pem").toString());

            assertThat(abort.exitCode()).isEqualTo(1);
            assertThat(abort.err()).contains("oncall.pub.pem: expected a PKCS#8 '-----BEGIN PRIVATE KEY-----' block");
            assertThat(kafka.controlRecords()).isEmpty();
        }
    }

    private static Run run(OpsTopics kafka, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix", kafka.topics().prefix()));
        return run(all.toArray(String[]::new));
    }

    private static Run run(String... args) {
        CommandLine cli = WeightpubCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exitCode = cli.execute(args);
        return new Run(exitCode, out.toString(), err.toString());
    }
}
