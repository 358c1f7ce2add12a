package io.cy.coordinator.admin;

import java.time.Instant;

/**
 * One call as the console's recent calls list shows it, from the audit log or from the ring in
 * memory; never the prompt.
 *
 * @param kind {@code call}, or {@code rejected} for a call refused before a sidecar was asked
 * @param durationMs null when unknown
 * @param ttftMs time to the first chunk; null when none came
 */
public record CallRow(Instant time, String traceId, String kind, String api, String tenant, String model,
                      String alias, String backend, String sidecar, String status, String message,
                      Double durationMs, Double ttftMs, long chunks) {

    /** Whether the row passes the console's filters (empty: any). */
    boolean matches(CallFilter filter) {
        return (filter.tenant().isEmpty() || filter.tenant().equals(tenant))
                && (filter.status().isEmpty() || filter.status().equalsIgnoreCase(status))
                && (filter.model().isEmpty() || filter.model().equals(model) || filter.model().equals(alias));
    }
}
