package io.weightpub.sink.engine;

import org.apache.flink.annotation.PublicEvolving;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The sink's engine-serving settings (travel with the sink into the job): where worker i's socket
 * is, who may connect, and how long an engine may hold a slot.
 *
 * @param socketPathTemplate the socket path; {@value EngineServerConfig#WORKER_PLACEHOLDER} becomes the worker index
 * @param permissions the socket file's permissions, like {@code rw-------}
 */
@PublicEvolving
public record EngineServing(String socketPathTemplate, String permissions, Duration leaseTimeout)
        implements Serializable {

    /** How often a worker looks for a flip to offer and for leases that ran out. */
    static final Duration POLL_INTERVAL = Duration.ofMillis(5);

    public EngineServing {
        Objects.requireNonNull(socketPathTemplate, "socketPathTemplate");
        if (socketPathTemplate.isBlank()) {
            throw new IllegalArgumentException("the engine socket path is blank");
        }
        EngineServerConfig.permissions(permissions);
        if (leaseTimeout.isNegative() || leaseTimeout.isZero()) {
            throw new IllegalArgumentException("engine lease timeout " + leaseTimeout + " must be positive");
        }
    }

    public Path socketPath(int worker) {
        return EngineServerConfig.socketPath(socketPathTemplate, worker);
    }

    public EngineServerConfig config(int worker) {
        return new EngineServerConfig(socketPath(worker), EngineServerConfig.permissions(permissions), leaseTimeout,
                POLL_INTERVAL);
    }
}
