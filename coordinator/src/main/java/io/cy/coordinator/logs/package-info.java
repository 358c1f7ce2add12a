/** How log lines are written: plain text or JSON ({@code logging.format}), and the access log's JSON form. */
package io.cy.coordinator.logs;
