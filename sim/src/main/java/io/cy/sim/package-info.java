/**
 * A simulated inference sidecar: {@link io.cy.sim.SimulatedSidecar} serves {@code cy.llm.AiInference}
 * like the real worker, shaped by {@link io.cy.sim.SimConfig} and per-request {@code sim.*} keys,
 * and counts what it sees in {@link io.cy.sim.SimStats}. {@link io.cy.sim.SimMain} runs it from
 * the command line.
 */
package io.cy.sim;
