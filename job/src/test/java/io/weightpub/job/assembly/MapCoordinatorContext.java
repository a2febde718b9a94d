package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;

import org.apache.flink.api.java.tuple.Tuple3;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** The coordinator's state, time and outputs for one model in plain maps and lists: no Flink. */
final class MapCoordinatorContext implements CoordinatorContext {

    ModelLedger ledger;
    final Map<String, PublishAssembly> publishes = new LinkedHashMap<>();
    final TreeMap<Long, RetainedVersion> retained = new TreeMap<>();
    final TreeSet<Long> timers = new TreeSet<>();
    final List<WeightEvent> events = new ArrayList<>();
    final List<Tuple3<String, byte[], byte[]>> outbound = new ArrayList<>();
    long now;

    @Override
    public ModelLedger ledger() {
        return ledger == null ? new ModelLedger() : ledger;
    }

    @Override
    public void updateLedger(ModelLedger ledger) {
        this.ledger = ledger;
    }

    @Override
    public PublishAssembly publish(String publishId) {
        return publishes.get(publishId);
    }

    @Override
    public void putPublish(PublishAssembly progress) {
        publishes.put(progress.publishId, progress);
    }

    @Override
    public void removePublish(String publishId) {
        publishes.remove(publishId);
    }

    @Override
    public Iterable<PublishAssembly> publishes() {
        return new ArrayList<>(publishes.values());
    }

    @Override
    public RetainedVersion retained(long version) {
        return retained.get(version);
    }

    @Override
    public void putRetained(long version, RetainedVersion value) {
        retained.put(version, value);
    }

    @Override
    public void removeRetained(long version) {
        retained.remove(version);
    }

    @Override
    public long now() {
        return now;
    }

    @Override
    public void timerAt(long timestampMs) {
        timers.add(timestampMs);
    }

    @Override
    public void emit(WeightEvent event) {
        events.add(event);
    }

    @Override
    public void outbound(Tuple3<String, byte[], byte[]> record) {
        outbound.add(record);
    }

    List<WeightEvent> events(WeightEvent.Kind kind) {
        return events.stream().filter(e -> e.kind() == kind).toList();
    }

    List<Tuple3<String, byte[], byte[]>> outbound(String topic) {
        return outbound.stream().filter(r -> r.f0.equals(topic)).toList();
    }
}
