package io.weightpub.ops.cli;

import io.weightpub.ops.TopicAdmin;
import io.weightpub.ops.TopicCheck;
import io.weightpub.ops.TopicSettings;
import io.weightpub.publisher.cli.ByteSizeConverter;
import io.weightpub.publisher.cli.WeightpubSubcommand;
import org.apache.flink.annotation.Internal;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

@Command(name = "topics", mixinStandardHelpOptions = true,
        description = "Creates the deployment's topics with the settings of topics.properties (built into this jar),"
                + " or checks existing ones and says what is wrong (exit code 1 when anything is).")
@Internal
public final class TopicsCommand extends OpsCommand implements WeightpubSubcommand {

    static final class Mode {
        @Option(names = "--create", required = true, description = "Create missing topics; existing ones are left as they are.")
        boolean create;

        @Option(names = "--check", required = true, description = "Check existing topics.")
        boolean check;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Mode mode;

    @Option(names = "--topics-file", paramLabel = "FILE",
            description = "Topic settings in the format of topics.properties (default: the copy built into the jar).")
    Path topicsFile;

    @Option(names = "--partitions-chunks", paramLabel = "N", description = "Partitions of <prefix>.chunks (default: topics.properties).")
    Integer chunkPartitions;

    @Option(names = "--replication-factor", paramLabel = "N", description = "Replicas of every topic (default: topics.properties).")
    Short replicationFactor;

    @Option(names = "--chunk-size", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "--check: the publishers' chunk size (default: 1020KiB, the publisher's default).")
    Long chunkSize;

    @Option(names = "--min-retention", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "--check: shortest retention.ms of chunks and manifests, e.g. 3d (default: chunks' retention.ms in topics.properties).")
    Duration minRetention;

    @Option(names = "--min-retention-bytes", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "--check: smallest retention.bytes per chunks partition (default: chunks' retention.bytes in topics.properties).")
    Long minRetentionBytes;

    @Override
    int run() throws IOException {
        TopicSettings settings = topicsFile == null ? TopicSettings.bundled() : TopicSettings.load(topicsFile);
        if (chunkPartitions != null) {
            settings = settings.withPartitions("chunks", chunkPartitions);
        }
        if (replicationFactor != null) {
            settings = settings.withReplicationFactor(replicationFactor);
        }
        return mode.create ? create(settings) : check(settings);
    }

    private int create(TopicSettings settings) throws IOException {
        for (TopicAdmin.TopicCreation creation : TopicAdmin.create(kafka.connection(), kafka.topics(), settings)) {
            out().println(creation.created()
                    ? "created " + creation.topic()
                    : "exists  " + creation.topic() + " (left as it is; `weightpub topics --check` checks it)");
        }
        out().flush();
        return 0;
    }

    private int check(TopicSettings settings) throws IOException {
        TopicCheck.Builder builder = TopicCheck.builder().settings(settings);
        if (chunkSize != null) {
            builder.chunkSizeBytes(chunkSize);
        }
        if (minRetention != null) {
            builder.minRetention(minRetention);
        }
        if (minRetentionBytes != null) {
            builder.minRetentionBytes(minRetentionBytes);
        }
        TopicCheck.Report report = builder.build().run(kafka.connection(), kafka.topics());
        for (TopicCheck.TopicState topic : report.topics()) {
            if (!topic.exists()) {
                out().println("MISSING " + topic.topic());
            } else {
                out().println((report.findings(topic.topic()).isEmpty() ? "ok      " : "WRONG   ") + topic.topic() + ": "
                        + topic.partitions() + " partitions, replication " + topic.replicationFactor() + ", "
                        + describe(topic.configs()));
            }
            for (TopicCheck.Finding finding : report.findings(topic.topic())) {
                out().println("        " + finding.problem() + ": " + finding.message());
            }
        }
        out().println(report.ok() ? "all " + report.topics().size() + " topics are fine"
                : report.findings().size() + " problem(s) found");
        out().flush();
        return report.ok() ? 0 : 1;
    }

    private static String describe(Map<String, String> configs) {
        StringBuilder text = new StringBuilder();
        configs.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e ->
                text.append(text.length() == 0 ? "" : ", ").append(e.getKey()).append('=').append(e.getValue()));
        return text.toString();
    }
}
