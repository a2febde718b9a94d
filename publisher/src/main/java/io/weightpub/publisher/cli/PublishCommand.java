package io.weightpub.publisher.cli;

import io.weightpub.publisher.PublishPlan;
import io.weightpub.publisher.PublishProgressListener;
import io.weightpub.publisher.PublishResult;
import io.weightpub.publisher.PublisherOptions;
import io.weightpub.publisher.SafetensorsCheckpoint;
import io.weightpub.publisher.ShardResult;
import io.weightpub.publisher.WeightPublisher;
import io.weightpub.publisher.WeightPublisherBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;

@Command(name = "publish", mixinStandardHelpOptions = true,
        description = "Publishes a safetensors checkpoint (file, sharded directory or directory of"
                + " .safetensors files) as one version of a model.")
final class PublishCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "CHECKPOINT", description = "A .safetensors file or a checkpoint directory.")
    Path checkpoint;

    @Option(names = "--model", required = true, description = "Model id, e.g. org/name.")
    String model;

    @Option(names = "--step", required = true, description = "Trainer step this version carries.")
    long step;

    @Option(names = "--bootstrap-servers", description = "Kafka bootstrap servers, host:port[,host:port...].")
    String bootstrapServers;

    @Option(names = "--topic-prefix", description = "Topic prefix (default: weightpub).")
    String topicPrefix;

    @Option(names = "--bucket-size", converter = ByteSizeConverter.class, paramLabel = "SIZE",
            description = "Largest bucket, a multiple of 8 bytes (default: 512MiB).")
    Long bucketSize;

    @Option(names = "--chunk-size", converter = ByteSizeConverter.class, paramLabel = "SIZE",
            description = "Largest payload per Kafka record (default: 1020KiB).")
    Long chunkSize;

    @Option(names = "--producers", paramLabel = "N",
            description = "Producers that send the version in parallel (default: 4).")
    Integer producers;

    @Option(names = "--ranks", paramLabel = "N",
            description = "The version is published by N trainer ranks together (with --rank or --manifest-from).")
    Integer ranks;

    @Option(names = "--rank", paramLabel = "R",
            description = "With --ranks: publish only rank R's buckets; prints the shard's result line.")
    Integer rank;

    @Option(names = "--publish-id", paramLabel = "ID",
            description = "With --ranks: the publish id every rank shares (new for every attempt).")
    String publishId;

    @Option(names = "--manifest-from", paramLabel = "FILE",
            description = "With --ranks: send the manifest, from every rank's result line in FILE ('-': stdin).")
    String manifestFrom;

    @Option(names = "--transactional", description = "Publish the version in Kafka transactions.")
    boolean transactional;

    @Option(names = "--transactional-id",
            description = "Transactional id (implies --transactional; default: weightpub-publisher-<model>).")
    String transactionalId;

    @Option(names = "--transaction-min-throughput", converter = ByteSizeConverter.class, paramLabel = "SIZE",
            description = "Transactional: slowest expected send rate per second, which sizes the transaction"
                    + " timeout (default: 32MiB).")
    Long transactionMinThroughput;

    @Option(names = "--producer-property", paramLabel = "KEY=VALUE",
            description = "Kafka producer setting, e.g. security.protocol=SSL (repeatable).")
    Map<String, String> producerProperties = new LinkedHashMap<>();

    @Option(names = "--signing-key", paramLabel = "FILE",
            description = "Ed25519 private key (PKCS#8 PEM) that signs the manifest (`weightpub keys generate`).")
    Path signingKey;

    @Option(names = "--signing-key-id", paramLabel = "ID",
            description = "Key id to sign with (default: the key file's Key-Id line, else the key's fingerprint).")
    String signingKeyId;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Properties file of publisher.* settings; command-line options take precedence.")
    Path config;

    @Option(names = "--no-progress", description = "Do not draw the progress bar on stderr.")
    boolean noProgress;

    @Override
    public Integer call() throws IOException {
        WeightPublisherBuilder builder = WeightPublisher.builder();
        if (config != null) {
            builder.configure(readConfig(config));
        }
        if (bootstrapServers != null) {
            builder.bootstrapServers(bootstrapServers);
        }
        if (topicPrefix != null) {
            builder.topicPrefix(topicPrefix);
        }
        if (bucketSize != null) {
            builder.bucketSizeBytes(bucketSize);
        }
        if (chunkSize != null) {
            builder.chunkSizeBytes(Math.toIntExact(chunkSize));
        }
        if (transactionalId != null) {
            builder.transactionalId(transactionalId);
        } else if (transactional) {
            // Stable per model, so a restarted publisher of the same model fences a stuck one.
            builder.transactionalId("weightpub-publisher-" + model);
        }
        if (signingKey != null) {
            builder.signingKeyFile(signingKey);
        }
        if (signingKeyId != null) {
            builder.signingKeyId(signingKeyId);
        }
        if (transactionMinThroughput != null) {
            builder.transactionMinThroughput(transactionMinThroughput);
        }
        if (producers != null) {
            builder.producers(producers);
        }
        builder.producerProperties(producerProperties);
        checkRankOptions();
        builder.progressListener(noProgress ? PublishProgressListener.NONE
                : ProgressBar.forConsole(spec.commandLine().getErr()));
        // Validate the checkpoint before connecting: a bad file fails fast and publishes nothing.
        try (SafetensorsCheckpoint opened = SafetensorsCheckpoint.open(checkpoint);
                WeightPublisher publisher = builder.build()) {
            if (ranks != null) {
                PublishPlan plan = publisher.planPublish(model, step, publishId, opened.tensors(), ranks);
                if (manifestFrom == null) {
                    // Every rank reads the same checkpoint; only the rank's own buckets are read and sent.
                    ShardResult shard = publisher.publishShard(plan, rank, opened.tensors());
                    spec.commandLine().getOut().println(shard.encode());
                    spec.commandLine().getOut().flush();
                    return 0;
                }
                PublishResult result = publisher.publishManifest(plan, readShards(manifestFrom));
                spec.commandLine().getOut().println(result);
                spec.commandLine().getOut().flush();
                return 0;
            }
            PublishResult result = publisher.publish(model, step, opened);
            spec.commandLine().getOut().println(result);
            publisher.signingKeyId().ifPresent(id -> spec.commandLine().getOut().println("manifest signed with key " + id));
            spec.commandLine().getOut().flush();
        }
        return 0;
    }

    private void checkRankOptions() {
        if (ranks == null) {
            if (rank != null || publishId != null || manifestFrom != null) {
                throw new IllegalArgumentException("--rank, --publish-id and --manifest-from need --ranks");
            }
            return;
        }
        if (publishId == null) {
            throw new IllegalArgumentException("--ranks needs --publish-id, the id every rank shares");
        }
        if ((rank == null) == (manifestFrom == null)) {
            throw new IllegalArgumentException("--ranks needs either --rank R (publish a shard) or"
                    + " --manifest-from FILE (send the manifest), not both");
        }
    }

    private List<ShardResult> readShards(String source) throws IOException {
        List<String> lines = source.equals("-")
                ? new java.io.BufferedReader(new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))
                        .lines().toList()
                : Files.readAllLines(Path.of(source));
        return lines.stream().filter(l -> !l.isBlank()).map(ShardResult::parse).toList();
    }

    private static Map<String, String> readConfig(Path file) throws IOException {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file)) {
            properties.load(reader);
        }
        Map<String, String> settings = new LinkedHashMap<>();
        for (String key : properties.stringPropertyNames()) {
            settings.put(key, properties.getProperty(key));
        }
        if (settings.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no settings; see " + PublisherOptions.class.getName());
        }
        return settings;
    }
}
