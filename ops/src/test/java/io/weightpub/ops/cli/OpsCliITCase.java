package io.weightpub.ops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightpub.ops.testutils.OpsTopics;
import io.weightpub.publisher.cli.WeightpubCli;
import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.KafkaOffsetRange;
import io.weightpub.schemas.VersionState;
import io.weightpub.testutils.KafkaClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.weightpub.ops.testutils.OpsTopics.status;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code weightpub} with the ops subcommands, end to end through {@link WeightpubCli#commandLine()}. */
class OpsCliITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    private record Run(int exitCode, String out, String err) {
    }

    @Test
    void opsSubcommandsArePartOfWeightpub() {
        Run help = run("--help");

        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).contains("versions", "status", "rollback", "abort", "reset-step", "topics", "publish",
                "generate");
    }

    @Test
    void versionsPrintsATableWithRetentionAndJsonOnRequest() throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            KafkaOffsetRange old = kafka.writeChunks(0, 2);
            KafkaOffsetRange newer = kafka.writeChunks(0, 2);
            kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(old)));
            kafka.write(kafka.entry("llama", 2, 2, "publish", List.of(newer)));
            kafka.write(kafka.entry("llama", 3, 1, "rollback to version 1 by request r1", List.of(old)));
            kafka.deleteChunksBefore(0, newer.getFirstOffset());

            Run table = run(kafka, "versions", "--model", "llama");

            assertThat(table.exitCode()).isZero();
            List<String> lines = table.out().lines().toList();
            assertThat(lines.get(0)).startsWith("MODEL").contains("VERSION", "CONTENT", "STEP", "PUBLISH", "SIZE",
                    "MANIFEST", "COMPLETED", "RETAINED", "REASON");
            assertThat(lines).hasSize(4);
            assertThat(lines.get(1).split("\\s+")).containsExactly("llama", "1", "1", "101", "publish-1", "1.00", "MiB",
                    "abcd01010203", "2023-11-14T22:13:21Z", "no", "publish");
            assertThat(lines.get(2).split("\\s+")).contains("2", "yes");
            assertThat(lines.get(3)).contains("rollback to version 1 by request r1").contains(" no ");

            Run json = run(kafka, "versions", "--json");
            assertThat(json.exitCode()).isZero();
            JsonNode document = new ObjectMapper().readTree(json.out());
            assertThat(document.get("topic").asText()).isEqualTo(kafka.topics().versions());
            assertThat(document.get("versions")).hasSize(3);
            JsonNode first = document.get("versions").get(0);
            assertThat(first.get("version").asLong()).isEqualTo(1);
            assertThat(first.get("retained").asBoolean()).isFalse();
            assertThat(first.get("evicted").get(0).asText()).contains("the log now starts at 2");
            assertThat(document.get("skipped")).isEmpty();
        }
    }

    @Test
    void statusPrintsOneRowPerWorkerWithTheJobFirst() throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            kafka.write(status("llama", -1, VersionState.COMPLETED, 2, 2, "p2", "published"));
            kafka.write(status("llama", 0, VersionState.FAILED, 2, 2, "p2", "digest mismatch"));
            kafka.write(status("llama", 0, VersionState.ACTIVE, 3, 1, "p1", "active"));

            Run table = run(kafka, "status");

            assertThat(table.exitCode()).isZero();
            List<String> lines = table.out().lines().toList();
            assertThat(lines).hasSize(3);
            assertThat(lines.get(0)).startsWith("MODEL").contains("WORKER", "STATE", "ACTIVE", "STAGED", "LAST ERROR");
            assertThat(lines.get(1)).startsWith("llama").contains(" job ", "COMPLETED");
            assertThat(lines.get(2)).contains(" 0 ", "ACTIVE", "3 (=1)", "digest mismatch");

            JsonNode workers = new ObjectMapper().readTree(run(kafka, "status", "--json", "--model", "llama").out())
                    .get("workers");
            assertThat(workers).hasSize(2);
            assertThat(workers.get(1).get("lastError").asText()).isEqualTo("digest mismatch");
            assertThat(workers.get(1).get("activeVersion").asLong()).isEqualTo(3);
        }
    }

    @Test
    void rollbackRefusesAnUnknownVersionWithExitCodeOne() throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(kafka.writeChunks(0, 1))));

            Run refused = run(kafka, "rollback", "--model", "llama", "--to", "9");

            assertThat(refused.exitCode()).isEqualTo(1);
            assertThat(refused.err()).startsWith("weightpub rollback: model llama has no version 9 in "
                    + kafka.topics().versions() + "; known versions: 1");
            assertThat(kafka.controlRecords()).isEmpty();
        }
    }

    @Test
    void rollbackWithWaitPrintsTheNewVersion() throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            kafka.write(kafka.entry("llama", 1, 1, "publish", List.of(kafka.writeChunks(0, 1))));
            kafka.write(kafka.entry("llama", 2, 2, "publish", List.of(kafka.writeChunks(0, 1))));
            kafka.write(status("llama", 0, VersionState.ACTIVE, 2, 2, "publish-2", ""));
            CompletableFuture<Void> job = kafka.answerFirstControlRecord(request -> List.of(
                    status("llama", -1, VersionState.COMPLETED, 3, 1, "publish-1",
                            "rollback to version 1 by request " + request.getRequestId()),
                    status("llama", 0, VersionState.COMMITTED, 3, 1, "publish-1", "")));

            Run rolledBack = run(kafka, "rollback", "--model", "llama", "--to", "1", "--reason", "reward hacking",
                    "--wait", "30", "--wait-workers");
            job.get();

            assertThat(rolledBack.err()).isEmpty();
            assertThat(rolledBack.exitCode()).isZero();
            ControlRecord sent = kafka.controlRecords().get(0);
            assertThat(sent.getReason()).isEqualTo("reward hacking");
            assertThat(rolledBack.out()).isEqualTo("model llama rolled back to the content of version 1 as version 3"
                    + " (request " + sent.getRequestId() + ")\nworker 0: COMMITTED version 3\n");
        }
    }

    @Test
    void abortSendsAnAbortControlRecord() throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            Run aborted = run(kafka, "abort", "--model", "llama", "--publish", "p-7", "--reason", "bad data");

            assertThat(aborted.exitCode()).isZero();
            assertThat(kafka.controlRecords()).singleElement().satisfies(control -> {
                assertThat(control.getAction()).isEqualTo(ControlAction.ABORT);
                assertThat(control.getPublishId()).isEqualTo("p-7");
                assertThat(control.getTargetVersion()).isNull();
                assertThat(control.getReason()).isEqualTo("bad data");
                assertThat(aborted.out()).contains("sent abort request " + control.getRequestId());
            });
        }
    }

    @Test
    void resetStepSendsAResetStepControlRecordWithOrWithoutAStep() throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            Run forget = run(kafka, "reset-step", "--model", "llama", "--reason", "step 2^63-1 was a bug");
            Run move = run(kafka, "reset-step", "--model", "llama", "--step", "1200");

            assertThat(forget.exitCode()).isZero();
            assertThat(move.exitCode()).isZero();
            assertThat(forget.out()).contains("forget the step watermark");
            assertThat(move.out()).contains("step watermark 1200");
            assertThat(kafka.controlRecords()).hasSize(2).allSatisfy(control -> {
                assertThat(control.getAction()).isEqualTo(ControlAction.RESET_STEP);
                assertThat(control.getModelId()).isEqualTo("llama");
            });
            assertThat(kafka.controlRecords()).extracting(ControlRecord::getStep).containsExactly(null, 1200L);
            assertThat(kafka.controlRecords().get(0).getReason()).isEqualTo("step 2^63-1 was a bug");
        }
    }

    @Test
    void topicsCreateThenCheckSucceedsAndCheckOfMissingTopicsExitsWithOne() {
        try (OpsTopics kafka = OpsTopics.withoutTopics(KAFKA)) {
            Run missing = run(kafka, "topics", "--check");
            assertThat(missing.exitCode()).isEqualTo(1);
            assertThat(missing.out()).contains("MISSING " + kafka.topics().chunks(), "6 problem(s) found");

            Run created = run(kafka, "topics", "--create", "--partitions-chunks", "3");
            assertThat(created.exitCode()).isZero();
            assertThat(created.out()).contains("created " + kafka.topics().chunks());

            Run again = run(kafka, "topics", "--create");
            assertThat(again.out()).contains("exists  " + kafka.topics().chunks());

            Run check = run(kafka, "topics", "--check", "--partitions-chunks", "3");
            assertThat(check.exitCode()).isZero();
            assertThat(check.out()).contains("ok      " + kafka.topics().chunks() + ": 3 partitions",
                    "all 6 topics are fine");

            Run strict = run(kafka, "topics", "--check", "--chunk-size", "4MiB");
            assertThat(strict.exitCode()).isEqualTo(1);
            assertThat(strict.out()).contains("WRONG   " + kafka.topics().chunks(), "TOO_FEW_PARTITIONS",
                    "MAX_MESSAGE_BYTES_TOO_SMALL", "2 problem(s) found");
        }
    }

    @Test
    void clientSettingsComeFromCommandConfigAndProperties(@TempDir Path dir) throws Exception {
        try (OpsTopics kafka = OpsTopics.create(KAFKA)) {
            Path config = dir.resolve("client.properties");
            Files.writeString(config, "bootstrap.servers=" + KAFKA.bootstrapServers() + "\nsecurity.protocol=PLAINTEXT\n");

            Run fromFile = run("status", "--command-config", config.toString(),
                    "--topic-prefix", kafka.topics().prefix(), "--property", "client.dns.lookup=use_all_dns_ips");
            assertThat(fromFile.exitCode()).isZero();
            assertThat(fromFile.out()).isEqualTo("no status records in " + kafka.topics().status() + "\n");

            Run wrongProtocol = run("status", "--command-config", config.toString(), "--topic-prefix",
                    kafka.topics().prefix(), "--property", "security.protocol=NOPE");
            assertThat(wrongProtocol.exitCode()).isEqualTo(1);
            assertThat(wrongProtocol.err()).startsWith("weightpub status: Kafka: ");
        }
    }

    @Test
    void usageErrorsExitWithTwoAndOperationalErrorsWithOne() {
        try (OpsTopics kafka = OpsTopics.withoutTopics(KAFKA)) {
            assertThat(run(kafka, "rollback", "--to", "1").exitCode()).isEqualTo(2);
            assertThat(run(kafka, "topics").exitCode()).isEqualTo(2);
            assertThat(run(kafka, "topics", "--create", "--check").exitCode()).isEqualTo(2);
            assertThat(run(kafka, "rollback", "--model", "llama", "--to", "1", "--wait-workers").exitCode()).isEqualTo(2);
            assertThat(run("versions").err()).contains("no Kafka bootstrap servers");

            Run noTopic = run(kafka, "versions");
            assertThat(noTopic.exitCode()).isEqualTo(1);
            assertThat(noTopic.err()).isEqualTo("weightpub versions: topic " + kafka.topics().versions()
                    + " does not exist; create the deployment's topics with `weightpub topics --create`"
                    + " (or check the --topic-prefix)\n");
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
