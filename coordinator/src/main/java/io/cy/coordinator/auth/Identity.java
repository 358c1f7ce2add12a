package io.cy.coordinator.auth;

import static java.util.Objects.requireNonNull;

import io.grpc.Context;
import java.util.Set;

/**
 * Who is calling, as established from the credential: never from what the request claims.
 *
 * @param subject the token's {@code sub}, or the API key's name
 * @param keyId the signing key's id for a JWT, the key's name for an API key; empty if none
 */
public record Identity(String subject, String tenant, Set<String> roles, CredentialKind kind, String keyId) {

    /** The caller of the current call, set by {@link AuthInterceptor}; absent when auth is off or the method open. */
    public static final Context.Key<Identity> CURRENT = Context.key("cy-identity");

    public enum CredentialKind { JWT, API_KEY }

    public Identity {
        requireNonNull(subject, "subject");
        requireNonNull(tenant, "tenant");
        roles = Set.copyOf(roles);
        requireNonNull(kind, "kind");
        requireNonNull(keyId, "keyId");
    }

    public boolean hasRole(String role) {
        return roles.contains(role);
    }
}
