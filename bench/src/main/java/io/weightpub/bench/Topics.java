package io.weightpub.bench;

import io.weightpub.ops.TopicSettings;
import io.weightpub.ops.TopicSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * The topics of a weightpub deployment, created the way {@code scripts/cluster/create-topics.sh}
 * creates them: from the ops module's {@link TopicSettings} (its bundled copy of
 * {@code topics.properties}, the one parser of that file), so the benchmark's chunks topic has the
 * production partition count and limits. Replicated once: benchmarks run one broker.
 */
public final class Topics {

    private final TopicSettings settings;

    Topics(TopicSettings settings) {
        this.settings = settings;
    }

    /** The bundled {@code topics.properties}. */
    public static Topics bundled() {
        return new Topics(TopicSettings.bundled());
    }

    /** The same topics with {@code role} given {@code partitions} partitions. */
    public Topics withPartitions(String role, int partitions) {
        return new Topics(settings.withPartitions(role, partitions));
    }

    public List<TopicSpec> specs() {
        return settings.specs();
    }

    public TopicSpec spec(String role) {
        return settings.spec(role);
    }

    static Admin admin(String bootstrap) {
        Map<String, Object> conf = new HashMap<>();
        conf.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return Admin.create(conf);
    }

    /** Creates {@code <prefix>.<role>} for every role (existing topics are left alone). */
    public void create(String bootstrap, String prefix) {
        List<NewTopic> topics = new ArrayList<>();
        for (TopicSpec s : specs()) {
            topics.add(new NewTopic(s.topic(prefix), s.partitions(), (short) 1).configs(s.configs()));
        }
        createEach(bootstrap, topics);
    }

    /** Creates one topic with a role's settings under another name. */
    public void createAs(String bootstrap, String role, String name) {
        TopicSpec s = spec(role);
        createEach(bootstrap, List.of(new NewTopic(name, s.partitions(), (short) 1).configs(s.configs())));
    }

    private static void createEach(String bootstrap, List<NewTopic> topics) {
        try (Admin admin = admin(bootstrap)) {
            for (NewTopic t : topics) {
                try {
                    admin.createTopics(List.of(t)).all().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("could not create topic " + t.name(), e.getCause());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Deletes topics (missing ones are fine), freeing their disk and page cache. */
    public static void delete(String bootstrap, List<String> names) {
        try (Admin admin = admin(bootstrap)) {
            for (String name : names) {
                try {
                    admin.deleteTopics(List.of(name)).all().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                        throw new IllegalStateException("could not delete topic " + name, e.getCause());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public List<String> names(String prefix) {
        return specs().stream().map(s -> s.topic(prefix)).toList();
    }

    /** Records in a topic (sum over partitions of end minus start offsets). */
    public static long records(String bootstrap, String topic) {
        try (Admin admin = admin(bootstrap)) {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
            d.partitions().forEach(p -> {
                latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest());
                earliest.put(new TopicPartition(topic, p.partition()), OffsetSpec.earliest());
            });
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = admin.listOffsets(latest).all().get();
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> starts =
                    admin.listOffsets(earliest).all().get();
            long n = 0;
            for (TopicPartition tp : ends.keySet()) {
                n += ends.get(tp).offset() - starts.get(tp).offset();
            }
            return n;
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not read the offsets of " + topic, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
