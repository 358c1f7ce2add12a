/**
 * Prometheus metrics: the registry, what each call adds to it (through the call-end seam), the
 * gauges read at scrape time, and the rules that keep label values bounded.
 */
package io.cy.coordinator.metrics;
