package io.cy.coordinator.quota;

import java.util.Locale;

/** Why a call was refused, as counted per tenant and reported by {@code quota_get}. */
public enum RejectionReason {
    CONCURRENT, REQUESTS_PER_MINUTE, TOKENS_PER_MINUTE, TOKENS_PER_DAY, MAX_NEW_TOKENS, MAX_PRIORITY, MODEL,
    /** The shared quota store did not answer in time ({@code quota.redis.on_unavailable: reject}). */
    UNAVAILABLE;

    /** The name used in payloads and logs, e.g. {@code requests_per_minute}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
