package io.weightpub.sink.engine;

import org.apache.flink.annotation.Internal;

import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * Where a worker's engine server listens and how long an engine may hold a version's slot.
 *
 * @param socketPath the Unix domain socket, already resolved for one worker
 * @param permissions of the socket file (who may connect)
 * @param leaseTimeout how long an engine may hold a slot: from the offer in copy mode, from the
 *     offer of a newer version in zero-copy mode
 * @param pollInterval how often the server looks for a flip and for expired leases
 */
@Internal
public record EngineServerConfig(Path socketPath, Set<PosixFilePermission> permissions, Duration leaseTimeout,
        Duration pollInterval) {

    /** The placeholder in a socket path template that becomes the worker index. */
    public static final String WORKER_PLACEHOLDER = "{worker}";

    public EngineServerConfig {
        Objects.requireNonNull(socketPath, "socketPath");
        permissions = Set.copyOf(permissions);
        if (leaseTimeout.isNegative() || leaseTimeout.isZero()) {
            throw new IllegalArgumentException("engine lease timeout " + leaseTimeout + " must be positive");
        }
        if (pollInterval.isNegative() || pollInterval.isZero()) {
            throw new IllegalArgumentException("engine poll interval " + pollInterval + " must be positive");
        }
    }

    /** {@code template} with {@value #WORKER_PLACEHOLDER} replaced by {@code worker}; one without it gets a suffix. */
    public static Path socketPath(String template, int worker) {
        String path = template.contains(WORKER_PLACEHOLDER)
                ? template.replace(WORKER_PLACEHOLDER, Integer.toString(worker))
                : template + "." + worker;
        return Path.of(path);
    }

    /** Parses {@code rw-------} style permissions. */
    public static Set<PosixFilePermission> permissions(String spec) {
        try {
            return PosixFilePermissions.fromString(spec);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("engine socket permissions '" + spec + "' are not like rw-------", e);
        }
    }
}
