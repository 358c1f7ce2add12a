package io.cy.audit;

import java.time.Duration;

/**
 * Waits for asynchronous state that offers nothing to block on (rows arriving in the table, the
 * writer noticing an outage): polls a condition every few milliseconds until a deadline.
 */
final class Await {

    private static final long POLL_MILLIS = 10;

    private Await() {}

    interface Condition {
        boolean holds() throws Exception;
    }

    /** Returns once {@code condition} holds; fails naming {@code what} when {@code timeout} passes first. */
    static void until(String what, Duration timeout, Condition condition) throws Exception {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.holds()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for: " + what);
            }
            // A poll interval, not synchronisation: the condition is re-checked until the deadline.
            Thread.sleep(POLL_MILLIS);
        }
    }
}
