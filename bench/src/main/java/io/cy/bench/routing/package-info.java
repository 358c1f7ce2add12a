/** {@code routing}: how the balancing policies place a workload of shared prompts, in memory. */
package io.cy.bench.routing;
