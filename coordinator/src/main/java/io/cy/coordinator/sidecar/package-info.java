/**
 * The sidecars behind the coordinator: each one's connections and channels, its health, and the
 * choice of one per call. The HTTP/2 streams themselves are in {@code transport.client}.
 */
package io.cy.coordinator.sidecar;
