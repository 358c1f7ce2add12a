/** The usage webhook: a record per served call, POSTed off the call path with retries. */
package io.cy.coordinator.webhook;
