/** The AiInference service: forwarding of StreamPredict, Control, Health, and how calls end up as statuses. */
package io.cy.coordinator.grpc;
