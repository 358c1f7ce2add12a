package io.cy.coordinator.admin;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.auth.Authentication;
import io.cy.coordinator.auth.Authenticator;
import io.cy.coordinator.auth.BearerHeader;
import io.cy.coordinator.auth.Identity;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Who calls the admin API: the bearer token checked by the coordinator's own {@link Authenticator}
 * (API keys, JWTs), and the Control role required. It waits for the answer on the admin thread
 * that serves the request, at most {@code timeout}: a JWT whose keys must be fetched first delays
 * that request alone, never a gRPC call (the fetch runs on the authenticator's own thread).
 */
final class AdminAuth {

    private final Authenticator authenticator;
    private final String role;
    private final Duration timeout;

    /**
     * @param authenticator null with {@code auth.mode: none}: every caller is let in
     * @param role the role required, {@code auth.control_role}
     */
    AdminAuth(Authenticator authenticator, String role, Duration timeout) {
        this.authenticator = authenticator;
        this.role = requireNonNull(role, "role");
        this.timeout = requireNonNull(timeout, "timeout");
    }

    boolean required() {
        return authenticator != null;
    }

    /**
     * The caller behind {@code header} (the Authorization header, null when absent); null when
     * authentication is off.
     *
     * @throws ApiException 401 for a missing or bad token, 403 without the role
     */
    Identity check(String header) {
        if (authenticator == null) {
            return null;
        }
        if (header == null || header.isBlank()) {
            throw unauthenticated(BearerHeader.MISSING);
        }
        final String problem = BearerHeader.problem(header);
        if (problem != null) {
            throw unauthenticated(problem);
        }
        final Authentication authentication;
        try {
            authentication = authenticator.authenticate(BearerHeader.token(header))
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new ApiException(503, "unavailable", "the token could not be checked within "
                    + timeout.toMillis() + " ms (the issuer's keys are being fetched); try again");
        } catch (ExecutionException e) {
            throw unauthenticated("authentication failed: " + e.getCause().getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "unavailable", "the coordinator is stopping");
        }
        if (!authentication.isAuthenticated()) {
            throw unauthenticated(String.valueOf(authentication.failure().getDescription()));
        }
        final Identity identity = authentication.identity();
        if (!role.isEmpty() && !identity.hasRole(role)) {
            throw new ApiException(403, "permission_denied", "role '" + role + "' required for the admin API (tenant "
                    + identity.tenant() + " has roles: " + String.join(", ", identity.roles()) + ")");
        }
        return identity;
    }

    private static ApiException unauthenticated(String reason) {
        return new ApiException(401, "unauthenticated", reason);
    }
}
