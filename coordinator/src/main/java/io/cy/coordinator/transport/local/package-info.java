/**
 * Calls into the coordinator's own services from inside the process, without a transport: what
 * the HTTP bridge calls through. The services run with their interceptors as for a caller over a
 * socket; only the HTTP/2 framing, and grpc-java's in-process transport around it, are left out.
 */
package io.cy.coordinator.transport.local;
