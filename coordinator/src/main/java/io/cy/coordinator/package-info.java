/** The coordinator process: startup, wiring and graceful shutdown. */
package io.cy.coordinator;
