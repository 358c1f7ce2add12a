/** Settings: embedded defaults, one YAML file and the environment, validated at startup. */
package io.cy.coordinator.config;
