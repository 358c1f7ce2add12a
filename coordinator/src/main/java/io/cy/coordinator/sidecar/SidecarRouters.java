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
            default:
                throw new IllegalArgumentException("balance: " + settings.balance().configName()
                        + " (expected: least_inflight)");
        }
    }
}
