/** The admin listener: {@code /metrics}, {@code /healthz} and {@code /readyz} for scrapers and orchestrators. */
package io.cy.coordinator.admin;
