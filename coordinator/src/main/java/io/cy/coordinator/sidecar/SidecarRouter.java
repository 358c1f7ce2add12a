package io.cy.coordinator.sidecar;

import java.util.List;

/** Chooses the sidecar for a new call. Implementations must be thread-safe and cheap. */
public interface SidecarRouter {

    /**
     * Returns the sidecar for a new call among {@code sidecars}, never one in {@code tried}, or
     * null when none may take it.
     */
    Sidecar pick(List<Sidecar> sidecars, List<Sidecar> tried, RoutingKey key);
}
