package io.cy.coordinator.auth;

import io.grpc.Status;

/** The outcome of checking a credential: an identity, or the status to refuse the call with. */
public final class Authentication {

    private final Identity identity;
    private final Status failure;

    private Authentication(Identity identity, Status failure) {
        this.identity = identity;
        this.failure = failure;
    }

    public static Authentication of(Identity identity) {
        return new Authentication(identity, null);
    }

    /** UNAUTHENTICATED with {@code reason}; the reason must never contain the credential. */
    public static Authentication rejected(String reason) {
        return new Authentication(null, Status.UNAUTHENTICATED.withDescription(reason));
    }

    public boolean isAuthenticated() {
        return identity != null;
    }

    /** The identity; only when {@link #isAuthenticated()}. */
    public Identity identity() {
        return identity;
    }

    /** The status to refuse with; only when not {@link #isAuthenticated()}. */
    public Status failure() {
        return failure;
    }
}
