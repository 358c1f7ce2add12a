package io.cy.coordinator.sidecar;

import java.util.List;

/**
 * Picks the available sidecar with the fewest calls in flight, rotating among equals so that
 * an idle pool still spreads calls; the availability rules are {@link Availability}'s.
 */
public final class LeastInFlightRouter implements SidecarRouter {

    private final LeastLoaded leastLoaded = new LeastLoaded();

    @Override
    public Sidecar pick(List<Sidecar> sidecars, List<Sidecar> tried, RoutingKey key) {
        return leastLoaded.pick(sidecars, tried);
    }
}
