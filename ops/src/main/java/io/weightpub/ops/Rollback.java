package io.weightpub.ops;

import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.TopicNames;
import io.weightpub.schemas.VersionState;
import io.weightpub.schemas.WorkerStatus;
import io.weightpub.schemas.signing.RecordSigner;
import org.apache.flink.annotation.PublicEvolving;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * A rollback of one model to an earlier version: checked against the version index (the version
 * must exist and its chunks must still be in Kafka, unless forced), sent as a ROLLBACK control
 * record, and optionally followed on the status topic until the job has published the new
 * version and the workers have committed it. Immutable; {@link #execute} may run more than once,
 * each time as a new request.
 */
@PublicEvolving
public final class Rollback {

    private final String modelId;
    private final long targetVersion;
    private final String reason;
    private final boolean force;
    private final Duration wait;
    private final boolean waitForWorkers;
    private final int workers;
    private final RecordSigner signer;

    private Rollback(Builder builder) {
        this.modelId = builder.modelId;
        this.targetVersion = builder.targetVersion;
        this.reason = builder.reason;
        this.force = builder.force;
        this.wait = builder.wait;
        this.waitForWorkers = builder.waitForWorkers;
        this.workers = builder.workers;
        this.signer = builder.signer;
    }

    public static Builder builder() {
        return new Builder();
    }

    public RollbackResult execute(KafkaConnection connection, TopicNames topics) {
        if (!force) {
            new VersionIndexReader(connection, topics).read(Optional.of(modelId))
                    .requireRollbackTarget(modelId, targetVersion);
        }
        Set<Integer> knownWorkers = waitForWorkers && workers == 0 ? knownWorkers(connection, topics) : Set.of();
        if (wait == null) {
            try (ControlClient control = new ControlClient(connection, topics, signer)) {
                ControlRecord sent = control.rollback(modelId, targetVersion, reason);
                return new RollbackResult(modelId, targetVersion, sent.getRequestId(), OptionalLong.empty(),
                        List.of());
            }
        }
        Instant deadline = Instant.now().plus(wait);
        // The follower starts at the status topic's end before the request goes out: no answer is missed.
        try (StatusFollower follower = new StatusFollower(connection, topics);
                ControlClient control = new ControlClient(connection, topics, signer)) {
            ControlRecord sent = control.rollback(modelId, targetVersion, reason);
            String requestId = sent.getRequestId();
            WorkerStatus published = follower.await(deadline,
                    "the job to publish rollback request " + requestId + " of model " + modelId,
                    status -> jobAnswer(status, requestId));
            long newVersion = published.getVersion();
            List<WorkerStatus> committed = waitForWorkers
                    ? awaitWorkers(follower, deadline, newVersion, knownWorkers)
                    : List.of();
            return new RollbackResult(modelId, targetVersion, requestId, OptionalLong.of(newVersion), committed);
        }
    }

    /**
     * The job's answer names the request: COMPLETED "rollback to version T by request R ..." or
     * FAILED "rollback request R: ...".
     */
    private Optional<WorkerStatus> jobAnswer(WorkerStatus status, String requestId) {
        if (status.getWorker() != WorkerState.JOB || !status.getModelId().equals(modelId)
                || !status.getMessage().contains(requestId)) {
            return Optional.empty();
        }
        if (status.getState() == VersionState.COMPLETED) {
            return Optional.of(status);
        }
        if (status.getState() == VersionState.FAILED || status.getState() == VersionState.REJECTED) {
            throw new OpsException("the job did not roll model " + modelId + " back to version " + targetVersion
                    + ": " + status.getMessage());
        }
        return Optional.empty();
    }

    private List<WorkerStatus> awaitWorkers(
            StatusFollower follower, Instant deadline, long newVersion, Set<Integer> expected) {
        Map<Integer, WorkerStatus> committed = new TreeMap<>();
        String waitingFor = expected.isEmpty()
                ? workers + " worker(s) of model " + modelId + " to commit version " + newVersion
                : "workers " + expected + " of model " + modelId + " to commit version " + newVersion;
        return follower.await(deadline, waitingFor, status -> {
            if (status.getWorker() < 0 || !status.getModelId().equals(modelId)
                    || (!expected.isEmpty() && !expected.contains(status.getWorker()))) {
                return Optional.empty();
            }
            VersionState state = status.getState();
            if ((state == VersionState.COMMITTED || state == VersionState.ACTIVE) && status.getVersion() >= newVersion) {
                committed.put(status.getWorker(), status);
            } else if (state == VersionState.FAILED && status.getVersion() == newVersion) {
                throw new OpsException("worker " + status.getWorker() + " of model " + modelId + " failed version "
                        + newVersion + " (the rollback to version " + targetVersion + "): " + status.getMessage());
            }
            boolean done = expected.isEmpty() ? committed.size() >= workers : committed.keySet().containsAll(expected);
            return done
                    ? Optional.of(committed.values().stream()
                            .sorted(Comparator.comparingInt(WorkerStatus::getWorker)).toList())
                    : Optional.empty();
        });
    }

    private Set<Integer> knownWorkers(KafkaConnection connection, TopicNames topics) {
        StatusReport report = new StatusReader(connection, topics).read(Optional.of(modelId));
        Set<Integer> known = report.workers(modelId).stream()
                .filter(w -> !w.isJob())
                .map(WorkerState::worker)
                .collect(Collectors.toCollection(TreeSet::new));
        if (known.isEmpty()) {
            throw new OpsException("no worker of model " + modelId + " has reported on " + report.topic()
                    + " yet, so there is no one to wait for; give the number of workers to wait for");
        }
        return known;
    }

    public static final class Builder {

        private String modelId;
        private long targetVersion = -1;
        private String reason = "";
        private boolean force;
        private Duration wait;
        private boolean waitForWorkers;
        private int workers;
        private RecordSigner signer;

        private Builder() {
        }

        /** Signs the request with an operator key (a job that requires signatures refuses unsigned ones). */
        public Builder signer(RecordSigner signer) {
            this.signer = signer;
            return this;
        }

        public Builder modelId(String modelId) {
            this.modelId = Objects.requireNonNull(modelId, "modelId");
            return this;
        }

        /** The published version whose content becomes current again. */
        public Builder targetVersion(long targetVersion) {
            this.targetVersion = targetVersion;
            return this;
        }

        /** Free text the job records with the new version. */
        public Builder reason(String reason) {
            this.reason = Objects.requireNonNull(reason, "reason");
            return this;
        }

        /** Send the request even when the index does not know the version or its chunks are gone. */
        public Builder force(boolean force) {
            this.force = force;
            return this;
        }

        /** Wait up to {@code wait} for the job to publish the new version. */
        public Builder waitFor(Duration wait) {
            Objects.requireNonNull(wait, "wait");
            if (wait.isNegative() || wait.isZero()) {
                throw new IllegalArgumentException("wait must be positive, got " + wait);
            }
            this.wait = wait;
            return this;
        }

        /**
         * Also wait (within the same time) until the workers have committed the new version:
         * {@code count} workers, or with 0 every worker that has reported on the status topic.
         */
        public Builder waitForWorkers(int count) {
            if (count < 0) {
                throw new IllegalArgumentException("worker count must be 0 (the workers known from the status topic)"
                        + " or positive, got " + count);
            }
            this.waitForWorkers = true;
            this.workers = count;
            return this;
        }

        public Rollback build() {
            if (modelId == null || modelId.isBlank()) {
                throw new IllegalArgumentException("rollback needs a non-blank model id, got '" + modelId + "'");
            }
            if (targetVersion < 1) {
                throw new IllegalArgumentException("rollback needs a target version of at least 1, got "
                        + (targetVersion == -1 ? "none" : targetVersion));
            }
            if (waitForWorkers && wait == null) {
                throw new IllegalArgumentException("waiting for workers needs a wait time (waitFor)");
            }
            return new Rollback(this);
        }
    }
}
