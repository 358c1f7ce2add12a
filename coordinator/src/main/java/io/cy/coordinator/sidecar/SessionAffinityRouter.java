package io.cy.coordinator.sidecar;

import java.util.List;

/**
 * Keeps each sticky key (a tenant or a session) on one sidecar, so that its conversations find
 * their context in that worker's cache: rendezvous (highest random weight) hashing over the
 * available sidecars. Each sidecar scores a key by a hash of the key and its address, and the
 * highest score wins; a sidecar that leaves moves only its own keys, one that joins takes only
 * the keys it now scores highest, and every coordinator in front of the same sidecars agrees.
 *
 * <p>A call without a key, or whose sidecar has more than {@code balance_threshold} calls in
 * flight above the least loaded one, goes to the least loaded sidecar.
 */
public final class SessionAffinityRouter implements SidecarRouter {

    private final int threshold;
    private final LeastLoaded leastLoaded = new LeastLoaded();

    public SessionAffinityRouter(int threshold) {
        if (threshold < 0) {
            throw new IllegalArgumentException("balance_threshold: " + threshold + " (expected: >= 0)");
        }
        this.threshold = threshold;
    }

    @Override
    public Sidecar pick(List<Sidecar> sidecars, List<Sidecar> tried, RoutingKey key) {
        if (key.stickyKey().isEmpty()) {
            return leastLoaded.pick(sidecars, tried);
        }
        final Sidecar owner = owner(sidecars, tried, key.stickyKey());
        if (owner != null && Availability.withinThreshold(owner, sidecars, tried, threshold)) {
            return owner;
        }
        return leastLoaded.pick(sidecars, tried);
    }

    /** The available sidecar that scores {@code stickyKey} highest, or null when none is available. */
    static Sidecar owner(List<Sidecar> sidecars, List<Sidecar> tried, String stickyKey) {
        final long keyHash = Hashing.mix(stickyKey.hashCode());
        Sidecar owner = null;
        long best = 0;
        for (int i = 0, n = sidecars.size(); i < n; i++) {
            final Sidecar candidate = sidecars.get(i);
            if (!Availability.isAvailable(candidate, tried)) {
                continue;
            }
            final long score = Hashing.mix(keyHash ^ candidate.addressHash());
            // Unsigned, so that the comparison is the same total order everywhere.
            if (owner == null || Long.compareUnsigned(score, best) > 0) {
                owner = candidate;
                best = score;
            }
        }
        return owner;
    }
}
