/**
 * {@code cy-bench compare}: starts the simulated sidecar, the coordinator and (if installed)
 * nginx as child processes, runs the same load against each in turns, and reports medians,
 * ratios to the direct run, the processes' CPU per call, the open-streams memory run and the
 * targets.
 */
package io.cy.bench.compare;
