package io.cy.coordinator.sidecar;

import static java.util.Objects.requireNonNull;

/**
 * A backend's balancing policy and its parameters.
 *
 * @param balance the policy
 * @param affinityPrefixBytes how many leading bytes of the prompt prefix affinity looks at
 * @param balanceThreshold how many more calls in flight than the least loaded sidecar an
 *     affinity's sidecar may have before the call goes to the least loaded instead
 */
public record BalanceSettings(Balance balance, int affinityPrefixBytes, int balanceThreshold) {

    public static final int DEFAULT_AFFINITY_PREFIX_BYTES = 1024;
    public static final int DEFAULT_BALANCE_THRESHOLD = 8;

    public static final BalanceSettings DEFAULT =
            new BalanceSettings(Balance.LEAST_INFLIGHT, DEFAULT_AFFINITY_PREFIX_BYTES, DEFAULT_BALANCE_THRESHOLD);

    public BalanceSettings {
        requireNonNull(balance, "balance");
        if (affinityPrefixBytes < 1) {
            throw new IllegalArgumentException("affinity_prefix_bytes: " + affinityPrefixBytes + " (expected: >= 1)");
        }
        if (balanceThreshold < 0) {
            throw new IllegalArgumentException("balance_threshold: " + balanceThreshold + " (expected: >= 0)");
        }
    }
}
