/**
 * gRPC over Netty's HTTP/2, shared by the coordinator's listeners ({@code transport.server}) and
 * its StreamPredict connections to the sidecars ({@code transport.client}): headers, trailers
 * and statuses on the wire, messages cut out of DATA frames, the HTTP/2 handler with its flood
 * limits, and the chores of a connection.
 */
package io.cy.coordinator.transport.wire;
