/**
 * StreamPredict towards the sidecars: one HTTP/2 connection per sidecar and event loop, whose
 * streams are {@link io.cy.coordinator.transport.client.SidecarCall}s read as grpc-java's client
 * reads a response.
 */
package io.cy.coordinator.transport.client;
