package io.weightpub.bench;

import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.WireCodec;
import io.weightpub.schemas.WireFormatException;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.sink.WeightSink;
import io.weightpub.store.ModelStatus;
import io.weightpub.store.VersionInfo;
import io.weightpub.store.WeightStore;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * What the workers of a benchmark job report: their in-process stores (staged, serving, a
 * description for timeouts) and the status topic (per-phase times of a version).
 */
final class WorkerProbe {

    private WorkerProbe() {}

    static Optional<ModelStatus> status(String sinkName, int worker, String model) {
        Optional<WeightStore> store = WeightSink.store(sinkName, worker);
        if (store.isEmpty() || !store.get().models().contains(model)) {
            return Optional.empty();
        }
        return Optional.of(store.get().status(model));
    }

    static boolean anyStaged(String sinkName, int workers, String model) {
        for (int w = 0; w < workers; w++) {
            Optional<ModelStatus> s = status(sinkName, w, model);
            if (s.isPresent() && (!s.get().staged().isEmpty() || s.get().active().isPresent())) {
                return true;
            }
        }
        return false;
    }

    /**
     * Staging, verification and commit-wait milliseconds of the slowest worker, from the status
     * records of {@code model} written since {@code sinceMillis}: STAGED (first chunk), VERIFIED (its
     * time and the verification's duration) and COMMITTED.
     */
    static long[] phases(String bootstrap, String prefix, String model, long sinceMillis) {
        Map<Integer, long[]> byWorker = new HashMap<>(); // staged, verifiedAt, verifyMs, committed
        for (WorkerStatus s : statuses(bootstrap, prefix)) {
            if (!s.getModelId().equals(model) || s.getTimestampMs() < sinceMillis) {
                continue;
            }
            long[] w = byWorker.computeIfAbsent(s.getWorker(), k -> new long[] {-1, -1, -1, -1});
            switch (s.getState()) {
                case STAGED -> w[0] = w[0] < 0 ? s.getTimestampMs() : Math.min(w[0], s.getTimestampMs());
                case VERIFIED -> {
                    w[1] = s.getTimestampMs();
                    w[2] = s.getDurationMs();
                }
                case COMMITTED -> w[3] = s.getTimestampMs();
                default -> { }
            }
        }
        long[] slowest = {-1, -1, -1};
        for (long[] w : byWorker.values()) {
            if (w[0] < 0 || w[1] < 0 || w[3] < 0) {
                continue;
            }
            long stream = w[1] - w[2] - w[0];
            long commit = w[3] - w[1];
            if (stream + w[2] + commit > slowest[0] + slowest[1] + slowest[2]) {
                slowest = new long[] {stream, w[2], commit};
            }
        }
        return slowest;
    }

    /** Every record of the status topic. */
    static List<WorkerStatus> statuses(String bootstrap, String prefix) {
        String topic = TopicNames.of(prefix).status();
        Map<String, Object> conf = new HashMap<>();
        conf.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        List<WorkerStatus> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(conf, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
                    && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    try {
                        out.add(WireCodec.STATUS.decode(record.value()));
                    } catch (WireFormatException e) {
                        // not a status record of ours
                    }
                }
            }
        }
        return out;
    }

    static boolean allServe(String sinkName, int workers, String model, long version) {
        for (int w = 0; w < workers; w++) {
            Optional<ModelStatus> s = status(sinkName, w, model);
            if (s.isEmpty() || s.get().active().map(VersionInfo::version).orElse(-1L) < version) {
                return false;
            }
        }
        return true;
    }

    static String describe(String sinkName, int workers, String model) {
        StringBuilder sb = new StringBuilder();
        for (int w = 0; w < workers; w++) {
            sb.append("worker ").append(w).append(": ").append(status(sinkName, w, model).map(Object::toString)
                    .orElse("no store or model")).append("; ");
        }
        return sb.toString();
    }
}
