/** Per-tenant quotas: requests, concurrency and tokens, reserved before a call and settled after it. */
package io.cy.coordinator.quota;
