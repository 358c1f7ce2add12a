package io.cy.coordinator.sidecar;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Picks the available sidecar with the fewest calls in flight, rotating among equals so that
 * an idle pool still spreads calls. When no sidecar is marked available, a non-draining one is
 * tried anyway: the probes may lag behind a sidecar that just came back, and a failed attempt
 * costs no more than refusing the call. A sidecar that refused the internal token is never
 * tried so: it would refuse the call too.
 */
public final class LeastInFlightRouter implements SidecarRouter {

    private final AtomicInteger rotation = new AtomicInteger();

    @Override
    public Sidecar pick(List<Sidecar> sidecars, List<Sidecar> tried, RoutingKey key) {
        final List<Sidecar> leastLoaded = new ArrayList<>(sidecars.size());
        final List<Sidecar> unavailable = new ArrayList<>(sidecars.size());
        int least = Integer.MAX_VALUE;
        for (Sidecar candidate : sidecars) {
            if (candidate.isDraining() || tried.contains(candidate)) {
                continue;
            }
            if (!candidate.isAvailable()) {
                if (!candidate.refusesToken()) {
                    unavailable.add(candidate);
                }
                continue;
            }
            final int inflight = candidate.inflight();
            if (inflight < least) {
                least = inflight;
                leastLoaded.clear();
            }
            if (inflight == least) {
                leastLoaded.add(candidate);
            }
        }
        final List<Sidecar> choices = leastLoaded.isEmpty() ? unavailable : leastLoaded;
        if (choices.isEmpty()) {
            return null;
        }
        // Rotate among equals, so that calls spread evenly.
        return choices.get(Math.floorMod(rotation.getAndIncrement(), choices.size()));
    }
}
