/**
 * gRPC over Netty's HTTP/2, shared by the coordinator's listeners ({@code server}) and its
 * StreamPredict connections to the sidecars ({@code sidecar}): headers, trailers and statuses on
 * the wire, messages cut out of DATA frames, and the chores of a connection.
 */
package io.cy.coordinator.http2;
