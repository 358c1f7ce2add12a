package io.cy.coordinator.sidecar;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One sidecar's outlier record: its current run of failed calls, how often it has been ejected,
 * and the ejection in force. An ejection ends by itself: it is read against the clock, so nothing
 * has to run when its time is up; the first reader after that clears it, so that picks skip the
 * clock again.
 */
final class OutlierState {

    /** An ejection: until when (monotonic and wall clock) and why. */
    record Ejection(long untilNanos, Instant until, String reason) {}

    // Set under the backend's detector lock; read, and cleared once over, on every pick.
    private final AtomicReference<Ejection> ejection = new AtomicReference<>();
    private volatile String lastEjectionReason = "";
    // Guarded by this.
    private int consecutiveFailures;
    // Guarded by the backend's detector lock.
    private int timesEjected;
    private long lastUntilNanos;

    /** Whether it is ejected now; reads the clock only while an ejection is set. */
    boolean isEjected() {
        return ejection.get() != null && ejection(System.nanoTime()) != null;
    }

    boolean isEjected(long nowNanos) {
        return ejection(nowNanos) != null;
    }

    /** The ejection in force at {@code nowNanos}, or null. */
    Ejection ejection(long nowNanos) {
        final Ejection current = ejection.get();
        if (current == null) {
            return null;
        }
        if (current.untilNanos - nowNanos > 0) {
            return current;
        }
        // Over: only this one is cleared, never a newer ejection set meanwhile.
        ejection.compareAndSet(current, null);
        return null;
    }

    String lastEjectionReason() {
        return lastEjectionReason;
    }

    synchronized void succeeded() {
        consecutiveFailures = 0;
    }

    /** Counts one failed call; returns the run of failures it makes. */
    synchronized int failed() {
        return ++consecutiveFailures;
    }

    /**
     * Ejects for {@code base} times the number of ejections, at most {@code max}; under the
     * detector's lock. The count starts again once the sidecar stayed in for {@code max} since its
     * last return, as a sidecar that recovered is not punished for an old streak.
     */
    Ejection eject(long nowNanos, Instant now, long baseNanos, long maxNanos, String reason) {
        if (timesEjected > 0 && nowNanos - lastUntilNanos >= maxNanos) {
            timesEjected = 0;
        }
        timesEjected++;
        final long nanos = timesEjected > maxNanos / baseNanos ? maxNanos : Math.min(maxNanos, baseNanos * timesEjected);
        final Ejection next = new Ejection(nowNanos + nanos, now.plusNanos(nanos), reason);
        synchronized (this) {
            consecutiveFailures = 0;
        }
        lastUntilNanos = next.untilNanos;
        lastEjectionReason = reason;
        ejection.set(next);
        return next;
    }

    int timesEjected() {
        return timesEjected;
    }
}
