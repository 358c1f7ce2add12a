/**
 * Client tools for AiInference servers, run as {@code cy-bench <command>}: {@code call} makes
 * one call and prints the answer for people and scripts; {@code load} and {@code compare} are
 * the benchmarks (see the subpackages).
 */
package io.cy.bench;
