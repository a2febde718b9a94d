package io.weightpub.e2e.testutils;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;

/** Polls a condition until it holds, for things that happen in other processes. */
public final class Waits {

    private static final Duration POLL = Duration.ofMillis(250);

    private Waits() {}

    /**
     * Calls {@code probe} until it returns a present value and returns that; exceptions count as
     * "not yet". Fails after {@code timeout}, naming {@code what} and the last exception.
     */
    public static <T> T until(String what, Duration timeout, Callable<Optional<T>> probe) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (true) {
            try {
                Optional<T> value = probe.call();
                if (value.isPresent()) {
                    return value.get();
                }
            } catch (Exception e) {
                last = e;
            }
            if (System.nanoTime() > deadline) {
                AssertionError error = new AssertionError("timed out after " + timeout + " waiting for " + what);
                if (last != null) {
                    error.initCause(last);
                }
                throw error;
            }
            try {
                Thread.sleep(POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + what, e);
            }
        }
    }

    /** Waits until {@code condition} is true. */
    public static void untilTrue(String what, Duration timeout, Callable<Boolean> condition) {
        until(what, timeout, () -> condition.call() ? Optional.of(Boolean.TRUE) : Optional.empty());
    }
}
