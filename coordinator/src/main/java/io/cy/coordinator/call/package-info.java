/** What every call carries whatever its service: its trace id, and the rule for text a client sends. */
package io.cy.coordinator.call;
