package io.cy.coordinator.routing;

import io.grpc.Status;

/** A resolved {@link Route}, or the NOT_FOUND status saying what is unknown. */
public record Resolution(Route route, Status error) {

    static Resolution of(Route route) {
        return new Resolution(route, null);
    }

    static Resolution notFound(String description) {
        return new Resolution(null, Status.NOT_FOUND.withDescription(description));
    }

    public boolean isResolved() {
        return route != null;
    }
}
