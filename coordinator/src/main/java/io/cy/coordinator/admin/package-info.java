/**
 * The admin listener: {@code /metrics}, {@code /healthz} and {@code /readyz} for scrapers and
 * orchestrators, and the admin console with its JSON API under {@code /admin/api/}.
 */
package io.cy.coordinator.admin;
