/** The connection to the Redis that replicas share (quota.store: redis). */
package io.cy.coordinator.redis;
