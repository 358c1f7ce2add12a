package io.cy.coordinator.sidecar;

import java.time.Instant;

/**
 * One sidecar's outlier record: its current run of failed calls, how often it has been ejected,
 * and the ejection in force. An ejection ends by itself: it is read against the clock, so nothing
 * has to run when its time is up.
 */
final class OutlierState {

    /** An ejection: until when (monotonic and wall clock) and why. */
    record Ejection(long untilNanos, Instant until, String reason) {}

    // Written under the backend's detector lock; read on every pick.
    private volatile Ejection ejection;
    // Guarded by this.
    private int consecutiveFailures;
    private String lastFailure = "";
    // Guarded by the backend's detector lock.
    private int timesEjected;
    private long lastReturnNanos;

    boolean isEjected(long nowNanos) {
        final Ejection current = ejection;
        return current != null && current.untilNanos - nowNanos > 0;
    }

    /** The ejection in force, or null. */
    Ejection ejection(long nowNanos) {
        final Ejection current = ejection;
        return current != null && current.untilNanos - nowNanos > 0 ? current : null;
    }

    String lastEjectionReason() {
        final Ejection last = ejection;
        return last == null ? "" : last.reason();
    }

    synchronized void succeeded() {
        consecutiveFailures = 0;
    }

    /** Counts one failed call; returns the run of failures it makes. */
    synchronized int failed(String what) {
        lastFailure = what;
        return ++consecutiveFailures;
    }

    synchronized String lastFailure() {
        return lastFailure;
    }

    /**
     * Ejects for {@code base} times the number of ejections, at most {@code max}; under the
     * detector's lock. The count starts again once the sidecar stayed in for {@code max} since its
     * last return, as a sidecar that recovered is not punished for an old streak.
     */
    Ejection eject(long nowNanos, Instant now, long baseNanos, long maxNanos, String reason) {
        final Ejection previous = ejection;
        if (previous != null) {
            lastReturnNanos = previous.untilNanos;
        }
        if (timesEjected > 0 && nowNanos - lastReturnNanos >= maxNanos) {
            timesEjected = 0;
        }
        timesEjected++;
        final long nanos = timesEjected > maxNanos / baseNanos ? maxNanos : Math.min(maxNanos, baseNanos * timesEjected);
        final Ejection next = new Ejection(nowNanos + nanos, now.plusNanos(nanos), reason);
        synchronized (this) {
            consecutiveFailures = 0;
        }
        ejection = next;
        return next;
    }

    int timesEjected() {
        return timesEjected;
    }
}
