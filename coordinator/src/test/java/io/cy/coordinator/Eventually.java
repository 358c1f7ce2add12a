package io.cy.coordinator;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waits for asynchronous state that offers nothing to block on (the health prober's view of a
 * sidecar, a listener closing): polls a condition every few milliseconds until a deadline.
 */
public final class Eventually {

    private static final long POLL_MILLIS = 5;

    private Eventually() {}

    /** Returns once {@code condition} holds; fails naming {@code what} when {@code timeout} passes first. */
    public static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for: " + what);
            }
            // A poll interval, not synchronisation: the condition is re-checked until the deadline.
            Thread.sleep(POLL_MILLIS);
        }
    }
}
