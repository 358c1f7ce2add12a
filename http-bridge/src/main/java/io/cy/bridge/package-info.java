/**
 * The OpenAI-compatible HTTP bridge: {@link io.cy.bridge.HttpBridge} serves
 * {@code /v1/chat/completions}, {@code /v1/completions} and {@code /v1/models} over HTTP/1.1 and
 * calls AiInference for each request; {@link io.cy.bridge.BridgeConfig} says how;
 * {@link io.cy.bridge.BridgeMain} runs it on its own in front of a remote coordinator.
 */
package io.cy.bridge;
