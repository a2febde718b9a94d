package io.weightpub.ops;

import io.weightpub.schemas.TopicNames;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Creates the topics of a deployment, as {@code scripts/cluster/create-topics.sh} does. */
@PublicEvolving
public final class TopicAdmin {

    /** One topic of a creation: made now, or already there (and then left as it is). */
    public record TopicCreation(String topic, boolean created) {
    }

    private TopicAdmin() {
    }

    /**
     * Creates every topic of {@code settings} under the prefix of {@code topics}. Topics that exist
     * are never changed: check them with {@link TopicCheck}.
     */
    public static List<TopicCreation> create(KafkaConnection connection, TopicNames topics, TopicSettings settings) {
        List<NewTopic> newTopics = new ArrayList<>();
        for (TopicSpec spec : settings.specs()) {
            newTopics.add(new NewTopic(spec.topic(topics.prefix()), spec.partitions(), spec.replicationFactor())
                    .configs(spec.configs()));
        }
        List<TopicCreation> creations = new ArrayList<>();
        try (Admin admin = connection.admin()) {
            CreateTopicsResult result = admin.createTopics(newTopics);
            for (NewTopic topic : newTopics) {
                try {
                    result.values().get(topic.name()).get(connection.timeout().toMillis(), TimeUnit.MILLISECONDS);
                    creations.add(new TopicCreation(topic.name(), true));
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new OpsException("could not create " + topic.name() + " (" + topic.numPartitions()
                                + " partitions, replication " + topic.replicationFactor() + ", " + topic.configs()
                                + "): " + e.getCause().getMessage(), e.getCause());
                    }
                    creations.add(new TopicCreation(topic.name(), false));
                } catch (TimeoutException e) {
                    throw new OpsException("creating " + topic.name() + " got no answer within " + connection.timeout(), e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new OpsException("interrupted while creating " + topic.name(), e);
                }
            }
            awaitVisible(admin, connection, creations);
        }
        return creations;
    }

    /**
     * A created topic is committed by the controller before the broker that answers the next request
     * knows it: wait until the broker describes every new topic, so that a check, a publish or a job
     * started right after this call finds them (a check once reported them missing).
     */
    private static void awaitVisible(Admin admin, KafkaConnection connection, List<TopicCreation> creations) {
        List<String> created = creations.stream().filter(TopicCreation::created).map(TopicCreation::topic).toList();
        long deadline = System.nanoTime() + connection.timeout().toNanos();
        while (!created.isEmpty()) {
            try {
                admin.describeTopics(created).allTopicNames().get(connection.timeout().toMillis(), TimeUnit.MILLISECONDS);
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw new OpsException("created " + created + " but the broker does not describe them within "
                            + connection.timeout() + ": " + e.getCause().getMessage(), e.getCause());
                }
            } catch (TimeoutException e) {
                throw new OpsException("describing the created topics " + created + " got no answer within "
                        + connection.timeout(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new OpsException("interrupted while waiting for " + created + " to be described", e);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new OpsException("interrupted while waiting for " + created + " to be described", e);
            }
        }
    }
}
