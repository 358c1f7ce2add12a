package io.cy.coordinator.sidecar;

import java.util.List;

/**
 * The availability rules every balancing policy follows, kept in one place. A draining sidecar,
 * or one already tried for this call, never gets it. A policy chooses among the available
 * sidecars; only when none is available is an unavailable one tried anyway: the probes may lag
 * behind a sidecar that just came back, and a failed attempt costs no more than refusing the
 * call. A sidecar that refused the internal token is never tried so: it would refuse the call too;
 * nor is one ejected as an outlier, whose recent calls all failed. A sidecar at its
 * {@code max_inflight} is never chosen: the call waits in the backend's queue.
 */
final class Availability {

    private Availability() {}

    /** Whether {@code sidecar} may be chosen in the first place. */
    static boolean isAvailable(Sidecar sidecar, List<Sidecar> tried) {
        return !sidecar.isDraining() && !tried.contains(sidecar) && sidecar.isAvailable() && !sidecar.isEjected()
                && !sidecar.isFull();
    }

    /** Whether {@code sidecar} may be tried when no sidecar is available. */
    static boolean isLastResort(Sidecar sidecar, List<Sidecar> tried) {
        return !sidecar.isDraining() && !tried.contains(sidecar) && !sidecar.isAvailable()
                && !sidecar.refusesToken() && !sidecar.isEjected() && !sidecar.isFull();
    }

    /** The fewest calls in flight on an available sidecar, or {@link Integer#MAX_VALUE} when none is. */
    static int leastInflight(List<Sidecar> sidecars, List<Sidecar> tried) {
        int least = Integer.MAX_VALUE;
        for (int i = 0, n = sidecars.size(); i < n; i++) {
            final Sidecar candidate = sidecars.get(i);
            if (isAvailable(candidate, tried)) {
                least = Math.min(least, candidate.inflight());
            }
        }
        return least;
    }

    /**
     * Whether an affinity may keep the call on {@code preferred}: it is available and has at most
     * {@code threshold} calls in flight more than the least loaded available sidecar. Past that,
     * queueing behind its calls would cost more than the cache it would hit saves.
     */
    static boolean withinThreshold(Sidecar preferred, List<Sidecar> sidecars, List<Sidecar> tried, int threshold) {
        if (!isAvailable(preferred, tried)) {
            return false;
        }
        final int inflight = preferred.inflight();
        // No sidecar has fewer than none in flight: the usual case needs no scan.
        return inflight <= threshold || (long) inflight <= (long) leastInflight(sidecars, tried) + threshold;
    }
}
