/** What the coordinator hands to the audit log: calls, refusals and Control commands. */
package io.cy.coordinator.audit;
