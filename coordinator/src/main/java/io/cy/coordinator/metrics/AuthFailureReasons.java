package io.cy.coordinator.metrics;

import io.cy.coordinator.service.CallSummary;
import io.grpc.Status;

/**
 * The {@code reason} label of {@code cy_auth_failures_total}: a fixed set of names for why the
 * coordinator refused a caller, read from the refusal's status. Statuses relayed from a sidecar
 * are not the coordinator's refusals and are not counted.
 */
final class AuthFailureReasons {

    static final String MISSING_CREDENTIALS = "missing_credentials";
    static final String UNSUPPORTED_SCHEME = "unsupported_scheme";
    static final String EXPIRED = "expired";
    static final String INVALID_CREDENTIALS = "invalid_credentials";
    static final String MISSING_ROLE = "missing_role";
    static final String TENANT_MISMATCH = "tenant_mismatch";
    static final String FORBIDDEN = "forbidden";

    private AuthFailureReasons() {}

    /** The reason, or null when the call was not refused for its credentials. */
    static String of(CallSummary s) {
        final Status.Code code = s.status().getCode();
        if (code != Status.Code.UNAUTHENTICATED && code != Status.Code.PERMISSION_DENIED || !s.sidecar().isEmpty()) {
            return null;
        }
        final String description = s.status().getDescription() == null ? "" : s.status().getDescription();
        if (code == Status.Code.UNAUTHENTICATED) {
            if (description.startsWith("missing authorization") || description.startsWith("the token after")) {
                return MISSING_CREDENTIALS;
            }
            if (description.startsWith("unsupported authorization scheme")) {
                return UNSUPPORTED_SCHEME;
            }
            return description.contains("expired") ? EXPIRED : INVALID_CREDENTIALS;
        }
        if (description.startsWith("role '")) {
            return MISSING_ROLE;
        }
        return description.contains("does not match the authenticated tenant") ? TENANT_MISMATCH : FORBIDDEN;
    }
}
