package io.cy.coordinator.sidecar;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * A backend's outlier ejection and retry budget settings.
 *
 * @param consecutiveFailures failed calls in a row that eject a sidecar
 * @param baseEjectionTime how long the first ejection lasts; the n-th lasts n times as long
 * @param maxEjectionTime the longest an ejection lasts
 * @param maxEjectionPercent the share of the backend's sidecars that may be ejected at once
 * @param retryBudgetPercent retries allowed, as a share of the backend's calls over
 *     {@link RetryBudget#WINDOW_SECONDS} seconds
 */
public record OutlierSettings(int consecutiveFailures, Duration baseEjectionTime, Duration maxEjectionTime,
                              int maxEjectionPercent, int retryBudgetPercent) {

    public static final OutlierSettings DEFAULT =
            new OutlierSettings(5, Duration.ofSeconds(10), Duration.ofSeconds(300), 50, 20);

    public OutlierSettings {
        requireNonNull(baseEjectionTime, "baseEjectionTime");
        requireNonNull(maxEjectionTime, "maxEjectionTime");
        if (consecutiveFailures < 1) {
            throw new IllegalArgumentException("outlier.consecutive_failures: " + consecutiveFailures + " (expected: >= 1)");
        }
        if (baseEjectionTime.isNegative() || baseEjectionTime.isZero()) {
            throw new IllegalArgumentException("outlier.base_ejection_time: " + baseEjectionTime.toMillis()
                    + "ms (expected: > 0)");
        }
        if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
            throw new IllegalArgumentException("outlier.max_ejection_time: " + maxEjectionTime.toMillis()
                    + "ms (expected: >= outlier.base_ejection_time, " + baseEjectionTime.toMillis() + "ms)");
        }
        if (maxEjectionPercent < 0 || maxEjectionPercent > 100) {
            throw new IllegalArgumentException("outlier.max_ejection_percent: " + maxEjectionPercent
                    + " (expected: in [0, 100])");
        }
        if (retryBudgetPercent < 0 || retryBudgetPercent > 100) {
            throw new IllegalArgumentException("retry_budget_percent: " + retryBudgetPercent + " (expected: in [0, 100])");
        }
    }

}
