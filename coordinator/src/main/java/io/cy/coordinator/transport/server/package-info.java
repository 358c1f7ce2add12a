/** The coordinator's gRPC listeners: its own HTTP/2 server, running grpc-java service definitions. */
package io.cy.coordinator.transport.server;
