package io.cy.coordinator.sidecar;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The least loaded choice, which every policy falls back to: the available sidecar with the
 * fewest calls in flight, rotating among equals so that an idle pool still spreads calls; when
 * none is available, the last resorts of {@link Availability} in rotation. Two passes over the
 * sidecars instead of collecting the equals, so that a pick allocates nothing.
 */
final class LeastLoaded {

    private final AtomicInteger rotation = new AtomicInteger();

    /** The sidecar for a call among {@code sidecars}, never one in {@code tried}, or null when none may take it. */
    Sidecar pick(List<Sidecar> sidecars, List<Sidecar> tried) {
        final int n = sidecars.size();
        int least = Integer.MAX_VALUE;
        int equals = 0;
        int lastResorts = 0;
        Sidecar firstLeast = null;
        Sidecar firstLastResort = null;
        for (int i = 0; i < n; i++) {
            final Sidecar candidate = sidecars.get(i);
            if (Availability.isAvailable(candidate, tried)) {
                final int inflight = candidate.inflight();
                if (inflight < least) {
                    least = inflight;
                    equals = 1;
                    firstLeast = candidate;
                } else if (inflight == least) {
                    equals++;
                }
            } else if (firstLeast == null && Availability.isLastResort(candidate, tried)) {
                if (lastResorts++ == 0) {
                    firstLastResort = candidate;
                }
            }
        }
        if (firstLeast != null) {
            return equals == 1 ? firstLeast : nthLeast(sidecars, tried, least, turn(equals), firstLeast);
        }
        if (firstLastResort == null) {
            return null;
        }
        return lastResorts == 1 ? firstLastResort : nthLastResort(sidecars, tried, turn(lastResorts), firstLastResort);
    }

    private int turn(int choices) {
        return Math.floorMod(rotation.getAndIncrement(), choices);
    }

    // Counts in flight may have moved since the first pass: a sidecar that became less busy still
    // counts as one of the least loaded, and when the n-th is gone the first one found stands in.
    private static Sidecar nthLeast(List<Sidecar> sidecars, List<Sidecar> tried, int least, int nth, Sidecar fallback) {
        int seen = 0;
        for (int i = 0, n = sidecars.size(); i < n; i++) {
            final Sidecar candidate = sidecars.get(i);
            if (Availability.isAvailable(candidate, tried) && candidate.inflight() <= least && seen++ == nth) {
                return candidate;
            }
        }
        return fallback;
    }

    private static Sidecar nthLastResort(List<Sidecar> sidecars, List<Sidecar> tried, int nth, Sidecar fallback) {
        int seen = 0;
        for (int i = 0, n = sidecars.size(); i < n; i++) {
            final Sidecar candidate = sidecars.get(i);
            if (Availability.isLastResort(candidate, tried) && seen++ == nth) {
                return candidate;
            }
        }
        return fallback;
    }
}
