/** The sidecars behind the coordinator: their channels, health and the choice of one per call. */
package io.cy.coordinator.sidecar;
