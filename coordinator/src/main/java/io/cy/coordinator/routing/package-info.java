/**
 * Which backend and model serve a call: the backends' catalog (configured or discovered), the
 * versioned route table (aliases, canary weights, each backend's balancing policy) and the
 * resolution of a request's {@code model_id} against them.
 */
package io.cy.coordinator.routing;
