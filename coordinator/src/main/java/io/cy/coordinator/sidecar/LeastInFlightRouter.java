package io.cy.coordinator.sidecar;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Picks the available sidecar with the fewest calls in flight, rotating among equals so that
 * an idle pool still spreads calls. When no sidecar is marked available, a non-draining one is
 * tried anyway: the probes may lag behind a sidecar that just came back, and a failed attempt
 * costs no more than refusing the call.
 */
public final class LeastInFlightRouter implements SidecarRouter {

    private final AtomicInteger rotation = new AtomicInteger();

    @Override
    public Sidecar pick(List<Sidecar> sidecars, List<Sidecar> tried) {
        final int n = sidecars.size();
        final int start = Math.floorMod(rotation.getAndIncrement(), n);
        Sidecar best = null;
        Sidecar fallback = null;
        for (int i = 0; i < n; i++) {
            final Sidecar candidate = sidecars.get((start + i) % n);
            if (candidate.isDraining() || tried.contains(candidate)) {
                continue;
            }
            if (!candidate.isAvailable()) {
                if (fallback == null) {
                    fallback = candidate;
                }
                continue;
            }
            if (best == null || candidate.inflight() < best.inflight()) {
                best = candidate;
            }
        }
        return best != null ? best : fallback;
    }
}
