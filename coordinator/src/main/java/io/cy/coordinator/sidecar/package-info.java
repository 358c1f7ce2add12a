/** The sidecars behind the coordinator: their connections and channels, health, and the choice of one per call. */
package io.cy.coordinator.sidecar;
