/**
 * OpenTelemetry traces: a server span per StreamPredict call, a child span per sidecar attempt,
 * W3C trace context in from clients and out to sidecars. Off unless {@code OTEL_*} variables
 * configure an exporter.
 */
package io.cy.coordinator.tracing;
