package io.weightpub.sink.internal;

import io.weightpub.schemas.signing.SignatureVerifier;
import io.weightpub.sink.CommitMode;
import io.weightpub.store.WeightStoreConfig;
import org.apache.flink.annotation.Internal;

import java.time.Duration;
import java.util.Optional;
import java.util.Properties;

/**
 * What a sink writer and its worker runtime take from the sink, as plain values: the writer is built
 * from these (by {@code WeightSink}, or directly by a test), never from the sink itself.
 *
 * @param sinkName                 the sink's name; workers of one sink in one JVM share it
 * @param chunksTopic              where lost chunks are re-read after a restore; null when none
 * @param statusTopic              where worker status records go; null for none
 * @param bootstrapServers         Kafka of the status topic; null for none
 * @param producerProperties       extra properties of the status producer
 * @param workerHttp               whether each worker serves its reference HTTP endpoint
 * @param httpBasePort             worker {@code i} listens on {@code httpBasePort + i}; 0 for ephemeral ports
 * @param replayConsumerProperties settings of the consumer that re-reads versions; empty without Kafka
 * @param replayStallTimeout       how long a re-read may receive nothing before it fails
 */
@Internal
public record WorkerSettings(
        String sinkName,
        CommitMode commitMode,
        SignatureVerifier signatures,
        String chunksTopic,
        WeightStoreConfig storeConfig,
        String statusTopic,
        String bootstrapServers,
        Properties producerProperties,
        boolean workerHttp,
        int httpBasePort,
        Optional<Properties> replayConsumerProperties,
        Duration replayStallTimeout) {

    /** Host memory, no Kafka, no HTTP: a worker that only stages, verifies and flips. */
    public static WorkerSettings standalone(String sinkName, CommitMode commitMode, WeightStoreConfig storeConfig) {
        return new WorkerSettings(sinkName, commitMode, SignatureVerifier.acceptingAll(), null, storeConfig, null, null,
                new Properties(), false, 0, Optional.empty(), Duration.ofSeconds(30));
    }

    /** The reference worker's port for {@code worker}. */
    int httpPort(int worker) {
        return httpBasePort == 0 ? 0 : httpBasePort + worker;
    }
}
