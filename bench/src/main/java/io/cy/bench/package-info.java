/**
 * Client tools for AiInference servers, run as {@code cy-bench <command>}: {@code call} makes
 * one call and prints the answer for people and scripts.
 */
package io.cy.bench;
