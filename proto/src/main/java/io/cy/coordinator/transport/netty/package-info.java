/** Addresses (TCP or Unix socket) and the shared Netty event loops that serve and reach them. */
package io.cy.coordinator.transport.netty;
