package io.cy.coordinator.auth;

import static java.util.Objects.requireNonNull;

import io.grpc.Context;
import java.util.Set;

/**
 * Who is calling, as established from the credential: never from what the request claims.
 *
 * @param subject the token's {@code sub}, the API key's name, {@code uds:uid=<uid>} for a Unix-socket peer,
 *     the matched SAN (or subject) of a client certificate
 * @param keyId the signing key's id for a JWT, the key's name for an API key, the matching
 *     {@code auth.unix_peers} entry ({@code uid=1000} or {@code gid=2000}) for a Unix-socket peer, the
 *     matching {@code auth.client_certs} entry ({@code san=spiffe://…}) for a client certificate;
 *     empty if none
 */
public record Identity(String subject, String tenant, Set<String> roles, CredentialKind kind, String keyId) {

    /** The caller of the current call, set by {@link AuthInterceptor}; absent when auth is off or the method open. */
    public static final Context.Key<Identity> CURRENT = Context.key("cy-identity");

    /** Recorded in lower case in the audit log: {@code jwt}, {@code api_key}, {@code unix_peer}, {@code client_cert}. */
    public enum CredentialKind { JWT, API_KEY, UNIX_PEER, CLIENT_CERT }

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
