package io.weightpub.job.assembly;

import io.weightpub.events.WeightEvent;

import org.apache.flink.api.java.tuple.Tuple3;

/**
 * What the coordinator's state machine ({@link PublishCoordinator}, {@link PublishLifecycle}) needs
 * from where it runs, for the model at hand: its keyed state, processing time, timers and outputs.
 * {@link VersionCoordinator} backs it with Flink state; unit tests back it with maps.
 */
interface CoordinatorContext {

    /** The model's ledger, a fresh one before its first record. */
    ModelLedger ledger() throws Exception;

    void updateLedger(ModelLedger ledger) throws Exception;

    /** The publish in flight with this id, or null. */
    PublishAssembly publish(String publishId) throws Exception;

    void putPublish(PublishAssembly progress) throws Exception;

    void removePublish(String publishId) throws Exception;

    /** The model's publishes in flight. */
    Iterable<PublishAssembly> publishes() throws Exception;

    /** A published version still retained for rollbacks, or null. */
    RetainedVersion retained(long version) throws Exception;

    void putRetained(long version, RetainedVersion retained) throws Exception;

    void removeRetained(long version) throws Exception;

    /** Processing time in milliseconds. */
    long now();

    /** Calls {@link PublishLifecycle#expire} for the model at {@code timestampMs} or later. */
    void timerAt(long timestampMs);

    /** An event for every worker. */
    void emit(WeightEvent event);

    /** A record for the status, versions or dead-letter topic. */
    void outbound(Tuple3<String, byte[], byte[]> record);
}
