package io.cy.coordinator.sidecar;

/** Makes the router of a backend from its balancing settings: one router per backend. */
public final class SidecarRouters {

    private SidecarRouters() {}

    /**
     * A new router for {@code settings}.
     *
     * @throws IllegalArgumentException naming {@code balance} when the policy is not available
     */
    public static SidecarRouter create(BalanceSettings settings) {
        switch (settings.balance()) {
            case LEAST_INFLIGHT:
                return new LeastInFlightRouter();
            case LEAST_LATENCY:
                return new LeastLatencyRouter();
            case PREFIX_AFFINITY:
                return new PrefixAffinityRouter(settings.affinityPrefixBytes(), settings.balanceThreshold());
            case SESSION_AFFINITY:
                return new SessionAffinityRouter(settings.balanceThreshold());
            default:
                throw new IllegalArgumentException("balance: " + settings.balance().configName()
                        + " (expected: " + Balance.names() + ")");
        }
    }
}
