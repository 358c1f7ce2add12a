/**
 * The audit log: one {@link io.cy.audit.AuditEvent} per call, rejected call and Control command,
 * recorded without blocking the caller, put on disk in a local spool by one background thread
 * and written from there to PostgreSQL by another, so that what is on disk survives a crash and
 * waits out a database that cannot take it at the moment.
 *
 * <p>The public API is {@link io.cy.audit.AuditLog} (implemented by
 * {@link io.cy.audit.PostgresAuditLog} and {@link io.cy.audit.NoopAuditLog}),
 * {@link io.cy.audit.AuditEvent}, {@link io.cy.audit.AuditConfig}, {@link io.cy.audit.DbUrl}, and
 * {@link io.cy.audit.EmbeddedAuditDatabase} (a PostgreSQL server the coordinator starts and stops, for trying things out);
 * everything else is package-private.
 */
package io.cy.audit;
