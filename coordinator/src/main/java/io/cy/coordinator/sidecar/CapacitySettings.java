package io.cy.coordinator.sidecar;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How many calls each sidecar of a backend takes at once, and how calls wait for a free one.
 *
 * @param maxInflight calls in flight per sidecar; {@link #UNLIMITED} for no limit (no queue either)
 * @param maxWait how long a call may wait in the backend's queue
 * @param maxLength how many calls may wait in the backend's queue
 */
public record CapacitySettings(int maxInflight, Duration maxWait, int maxLength) {

    public static final int UNLIMITED = 0;
    public static final Duration DEFAULT_MAX_WAIT = Duration.ofSeconds(5);
    public static final int DEFAULT_MAX_LENGTH = 1024;
    public static final CapacitySettings DEFAULT = new CapacitySettings(UNLIMITED, DEFAULT_MAX_WAIT, DEFAULT_MAX_LENGTH);

    public CapacitySettings {
        if (maxInflight < 0) {
            throw new IllegalArgumentException("max_inflight: " + maxInflight + " (expected: >= 1, or empty for no limit)");
        }
        requireNonNull(maxWait, "maxWait");
        if (maxLength < 0) {
            throw new IllegalArgumentException("queue.max_length: " + maxLength + " (expected: >= 0)");
        }
    }

    public boolean isLimited() {
        return maxInflight != UNLIMITED;
    }
}
