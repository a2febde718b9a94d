package io.weightpub.bench;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

/**
 * The topics of a weightpub deployment, created the way {@code scripts/cluster/create-topics.sh}
 * creates them: from {@code topics.properties} (bundled into this jar from scripts/cluster), so the
 * benchmark's chunks topic has the production partition count and limits.
 */
public final class Topics {

    /** One role's topic settings. */
    public record Spec(String role, int partitions, Map<String, String> config) {}

    private final List<Spec> specs;

    Topics(List<Spec> specs) {
        this.specs = List.copyOf(specs);
    }

    /** The bundled {@code topics.properties}. */
    public static Topics bundled() {
        try (InputStream in = Topics.class.getResourceAsStream("topics.properties")) {
            if (in == null) {
                throw new IllegalStateException("topics.properties is not bundled with the bench module");
            }
            return parse(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the bundled topics.properties", e);
        }
    }

    static Topics parse(String text) throws IOException {
        Properties p = new Properties();
        p.load(new StringReader(text));
        String roles = p.getProperty("roles");
        if (roles == null) {
            throw new IOException("topics.properties has no 'roles'");
        }
        List<Spec> specs = new ArrayList<>();
        for (String role : roles.split(",")) {
            String r = role.trim();
            int partitions = Integer.parseInt(p.getProperty(r + ".partitions", "1").trim());
            Map<String, String> config = new LinkedHashMap<>();
            String prefix = r + ".config.";
            p.stringPropertyNames().stream().filter(k -> k.startsWith(prefix)).sorted()
                    .forEach(k -> config.put(k.substring(prefix.length()), p.getProperty(k).trim()));
            specs.add(new Spec(r, partitions, config));
        }
        return new Topics(specs);
    }

    /** The same topics with {@code role} given {@code partitions} partitions. */
    public Topics withPartitions(String role, int partitions) {
        spec(role);
        return new Topics(specs.stream().map(s -> s.role().equals(role) ? new Spec(role, partitions, s.config()) : s)
                .toList());
    }

    public List<Spec> specs() {
        return specs;
    }

    public Spec spec(String role) {
        return specs.stream().filter(s -> s.role().equals(role)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no topic role " + role));
    }

    static Admin admin(String bootstrap) {
        Map<String, Object> conf = new HashMap<>();
        conf.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return Admin.create(conf);
    }

    /** Creates {@code <prefix>.<role>} for every role (existing topics are left alone). */
    public void create(String bootstrap, String prefix) {
        List<NewTopic> topics = new ArrayList<>();
        for (Spec s : specs) {
            topics.add(new NewTopic(prefix + "." + s.role(), s.partitions(), (short) 1).configs(s.config()));
        }
        createEach(bootstrap, topics);
    }

    /** Creates one topic with a role's settings under another name. */
    public void createAs(String bootstrap, String role, String name) {
        Spec s = spec(role);
        createEach(bootstrap, List.of(new NewTopic(name, s.partitions(), (short) 1).configs(s.config())));
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
        return specs.stream().map(s -> prefix + "." + s.role()).toList();
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
