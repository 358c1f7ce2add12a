/**
 * The AiInference application services: the StreamPredict forwarder, Control and Health, request
 * validation, how calls end up as statuses, and the record of each call (access log, call
 * summary) that audit reads.
 */
package io.cy.coordinator.service;
