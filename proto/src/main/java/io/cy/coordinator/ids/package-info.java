/** Ids made by the coordinator and its HTTP bridge for calls that come without one. */
package io.cy.coordinator.ids;
