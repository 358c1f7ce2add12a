/**
 * What the coordinator hands to the audit log (calls, refusals and Control commands), and
 * {@code --audit-query}, which reads it back.
 */
package io.cy.coordinator.audit;
