/** Who is calling: JWTs (OIDC issuer keys or a shared secret) and API keys, checked before any handler. */
package io.cy.coordinator.auth;
