package io.cy.coordinator.sidecar;

import java.util.List;

/**
 * Picks the sidecar expected to answer soonest: the lowest score
 * {@code (ttft + NOMINAL_TOKENS × per_token) × (1 + inflight)}, from the moving averages of
 * {@link SidecarLatency} (time to first token, time per output token; 0 for the latter before a
 * call of two tokens) and the calls in flight, which queue ahead of the new one. The
 * "least latency" policy of model-aware gateways.
 *
 * <p>A sidecar without a sample yet (new, or back from a restart of the coordinator) gets a call
 * whenever it has none in flight, ahead of any score, so that it is measured; it is not flooded
 * before its first answer. When no sidecar has a sample and all are busy, or none is available,
 * the least loaded choice decides.
 */
public final class LeastLatencyRouter implements SidecarRouter {

    /** The answer length the score assumes: a short chat turn. */
    static final int NOMINAL_TOKENS = 32;

    private final LeastLoaded leastLoaded = new LeastLoaded();

    @Override
    public Sidecar pick(List<Sidecar> sidecars, List<Sidecar> tried, RoutingKey key) {
        Sidecar fastest = null;
        double best = Double.POSITIVE_INFINITY;
        for (int i = 0, n = sidecars.size(); i < n; i++) {
            final Sidecar candidate = sidecars.get(i);
            if (!Availability.isAvailable(candidate, tried)) {
                continue;
            }
            final int inflight = candidate.inflight();
            final double firstToken = candidate.latency().firstTokenNanos();
            if (Double.isNaN(firstToken)) {
                if (inflight == 0) {
                    return candidate;
                }
                continue;
            }
            final double score = score(firstToken, candidate.latency().perTokenNanos(), inflight);
            if (score < best) {
                best = score;
                fastest = candidate;
            }
        }
        return fastest != null ? fastest : leastLoaded.pick(sidecars, tried);
    }

    static double score(double firstTokenNanos, double perTokenNanos, int inflight) {
        final double perToken = Double.isNaN(perTokenNanos) ? 0 : perTokenNanos;
        return (firstTokenNanos + NOMINAL_TOKENS * perToken) * (1 + inflight);
    }
}
