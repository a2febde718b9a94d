package io.weightpub.publisher.cli;

import io.weightpub.publisher.SafetensorsCheckpoint;
import io.weightpub.publisher.testutils.MalformedSafetensors;
import io.weightpub.publisher.testutils.ReassembledVersion;
import io.weightpub.publisher.testutils.TopicReader;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionManifest;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.signing.KeyFiles;
import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.schemas.signing.SigningKey;
import io.weightpub.schemas.signing.TrustedKeys;
import io.weightpub.testutils.KafkaClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

class WeightpubCliITCase {

    @RegisterExtension
    static final KafkaClusterExtension KAFKA = new KafkaClusterExtension();

    @TempDir
    Path dir;

    /** Exit code, stdout and stderr of one {@code weightpub} invocation. */
    private record Run(int exitCode, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = WeightpubCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void generatesAndPublishesACheckpointThatReassemblesBitForBit() throws Exception {
        Path checkpoint = dir.resolve("ckpt");
        Run generate = run("generate", checkpoint.toString(), "--target-size", "3MiB", "--shards", "2", "--seed", "9");
        assertThat(generate.exitCode()).as(generate.err()).isZero();
        assertThat(generate.out()).contains("wrote " + checkpoint).contains("in 2 file(s)");
        assertThat(checkpoint.resolve(SafetensorsCheckpoint.INDEX_FILE)).exists();

        Run publish = run("publish", checkpoint.toString(), "--model", "tiny", "--step", "42",
                "--bootstrap-servers", KAFKA.bootstrapServers(), "--topic-prefix", "cli",
                "--bucket-size", "1MiB", "--chunk-size", "256k", "--transactional",
                "--producer-property", "linger.ms=1");
        assertThat(publish.exitCode()).as(publish.err()).isZero();
        assertThat(publish.err()).contains("[##").contains("100%");
        Matcher summary = Pattern.compile("published model=tiny step=42 publish=(\\S+) bytes=(\\d+) buckets=(\\d+)"
                + " chunks=(\\d+) in \\S+ s \\(\\S+ MB/s\\)").matcher(publish.out());
        assertThat(summary.find()).as(publish.out()).isTrue();

        try (SafetensorsCheckpoint source = SafetensorsCheckpoint.open(checkpoint)) {
            ReassembledVersion version =
                    ReassembledVersion.read(KAFKA.bootstrapServers(), TopicNames.of("cli"), summary.group(1), true);
            version.assertHoldsExactly(source.tensors());
            assertThat(version.manifest().getBuckets()).hasSize(Integer.parseInt(summary.group(3)));
            assertThat(version.manifest().getTotalBytes()).isEqualTo(Long.parseLong(summary.group(2)));
            assertThat(version.manifest().getChunkSize()).isEqualTo(256 * 1024);
        }
    }

    @Test
    void twoRanksPublishTheirShardsAndTheManifestFromTheirResultLines() throws Exception {
        Path checkpoint = dir.resolve("ckpt");
        assertThat(run("generate", checkpoint.toString(), "--target-size", "3MiB", "--seed", "5").exitCode()).isZero();
        StringBuilder results = new StringBuilder();
        for (int rank = 0; rank < 2; rank++) {
            Run shard = run("publish", checkpoint.toString(), "--model", "tiny", "--step", "7",
                    "--bootstrap-servers", KAFKA.bootstrapServers(), "--topic-prefix", "cli-ranks", "--no-progress",
                    "--bucket-size", "512k", "--chunk-size", "64k", "--producers", "2",
                    "--transactional-id", "cli-rank" + rank, "--ranks", "2", "--rank", String.valueOf(rank),
                    "--publish-id", "cli-publish-7");
            assertThat(shard.exitCode()).as(shard.err()).isZero();
            assertThat(shard.out()).startsWith("publish=cli-publish-7 rank=" + rank + " ");
            results.append(shard.out());
        }
        assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), "cli-ranks.manifests", true)).isEmpty();
        Path lines = Files.writeString(dir.resolve("shards.txt"), results);

        Run manifest = run("publish", checkpoint.toString(), "--model", "tiny", "--step", "7",
                "--bootstrap-servers", KAFKA.bootstrapServers(), "--topic-prefix", "cli-ranks", "--no-progress",
                "--bucket-size", "512k", "--chunk-size", "64k", "--transactional-id", "cli-rank0",
                "--ranks", "2", "--publish-id", "cli-publish-7", "--manifest-from", lines.toString());
        assertThat(manifest.exitCode()).as(manifest.err()).isZero();
        assertThat(manifest.out()).contains("published model=tiny step=7 publish=cli-publish-7");
        try (SafetensorsCheckpoint source = SafetensorsCheckpoint.open(checkpoint)) {
            ReassembledVersion.read(KAFKA.bootstrapServers(), TopicNames.of("cli-ranks"), "cli-publish-7", true)
                    .assertHoldsExactly(source.tensors());
        }
        Run missingRank = run("publish", checkpoint.toString(), "--model", "tiny", "--step", "7",
                "--bootstrap-servers", KAFKA.bootstrapServers(), "--topic-prefix", "cli-ranks", "--no-progress",
                "--bucket-size", "512k", "--chunk-size", "64k", "--ranks", "2", "--publish-id", "cli-publish-7",
                "--manifest-from", Files.writeString(dir.resolve("one.txt"), results.toString().lines().findFirst()
                        .orElseThrow()).toString());
        assertThat(missingRank.exitCode()).isEqualTo(1);
        assertThat(missingRank.err()).contains("no shard result of rank 1");
    }

    @Test
    void publishWithASigningKeySendsAManifestThatVerifiesWithThePublicKey() throws Exception {
        Path checkpoint = dir.resolve("ckpt");
        assertThat(run("generate", checkpoint.toString(), "--target-size", "1MiB").exitCode()).isZero();
        KeyFiles.Written key = KeyFiles.write(SigningKey.generate(), dir.resolve("keys"), "trainer", List.of("tiny*"));

        Run publish = run("publish", checkpoint.toString(), "--model", "tiny-signed", "--step", "1",
                "--bootstrap-servers", KAFKA.bootstrapServers(), "--topic-prefix", "cli-signed", "--no-progress",
                "--signing-key", key.privateKey().toString());
        assertThat(publish.exitCode()).as(publish.err()).isZero();
        assertThat(publish.out()).contains("manifest signed with key " + key.keyId());

        VersionManifest manifest = WireCodec.MANIFEST.decode(TopicReader.readAll(
                KAFKA.bootstrapServers(), TopicNames.of("cli-signed").manifests(), true).get(0).value());
        SignatureVerifier verifier = SignatureVerifier.builder()
                .publisherKeys(TrustedKeys.load(key.publicKey())).build();
        assertThat(verifier.checkManifest(manifest)).isEmpty();
    }

    @Test
    void publishOfAMalformedCheckpointFailsNamingFileAndTensorAndSendsNothing() throws Exception {
        Path broken = MalformedSafetensors.SHAPE_SIZE_MISMATCH.write(Files.createDirectories(dir.resolve("bad")));
        KAFKA.createTopic("cli-bad.chunks", 1, Map.of());
        Run publish = run("publish", broken.toString(), "--model", "m", "--step", "1",
                "--bootstrap-servers", KAFKA.bootstrapServers(), "--topic-prefix", "cli-bad", "--no-progress");
        assertThat(publish.exitCode()).isEqualTo(1);
        assertThat(publish.err()).contains("weightpub publish: " + broken)
                .contains("tensor 'mlp.up'").contains("needs 12 bytes");
        assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), "cli-bad.chunks", false)).isEmpty();
    }

    @Test
    void refusesProducerPropertiesThatWouldBreakDeliveryGuarantees() throws Exception {
        Path checkpoint = dir.resolve("c");
        assertThat(run("generate", checkpoint.toString(), "--hidden-size", "64", "--layers", "1").exitCode()).isZero();
        Run publish = run("publish", checkpoint.toString(), "--model", "m", "--step", "1",
                "--bootstrap-servers", KAFKA.bootstrapServers(), "--producer-property", "acks=1");
        assertThat(publish.exitCode()).isEqualTo(1);
        assertThat(publish.err()).contains("producer setting 'acks' is set by the publisher");
    }

    @Test
    void reportsUsageErrorsWithExitCodeTwo() {
        Run run = run("publish", "somewhere", "--step", "1");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("Missing required option: '--model=<model>'");
        Run size = run("generate", dir.toString(), "--target-size", "lots");
        assertThat(size.exitCode()).isEqualTo(2);
        assertThat(size.err()).contains("'lots' is not a byte size");
    }

    @Test
    void takesSettingsFromAConfigFileWithCommandLineOptionsOverridingIt() throws Exception {
        Path checkpoint = dir.resolve("c");
        assertThat(run("generate", checkpoint.toString(), "--hidden-size", "64", "--layers", "1").exitCode()).isZero();
        Path config = Files.writeString(dir.resolve("publisher.properties"),
                "publisher.bootstrap-servers=" + KAFKA.bootstrapServers() + "\n"
                        + "publisher.topic-prefix=from-file\n"
                        + "publisher.chunk-size=4096\n");
        Run publish = run("publish", checkpoint.toString(), "--model", "m", "--step", "3", "--config", config.toString(),
                "--chunk-size", "8192", "--no-progress");
        assertThat(publish.exitCode()).as(publish.err()).isZero();
        assertThat(publish.err()).doesNotContain("[#");
        assertThat(TopicReader.readAll(KAFKA.bootstrapServers(), "from-file.manifests", true))
                .singleElement()
                .satisfies(r -> assertThat(WireCodec.MANIFEST.decode(r.value()).getChunkSize()).isEqualTo(8192));
    }
}
