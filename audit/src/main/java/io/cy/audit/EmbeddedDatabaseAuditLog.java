package io.cy.audit;

import java.time.Duration;
import java.util.Map;

/**
 * An audit log writing to an {@link EmbeddedAuditDatabase} it owns: closing it flushes the log
 * first and only then stops the database, so the last batch still reaches the table. Built by
 * {@link EmbeddedAuditDatabase#startLog}.
 */
final class EmbeddedDatabaseAuditLog implements AuditLog {

    private final AuditLog log;
    private final EmbeddedAuditDatabase database;

    EmbeddedDatabaseAuditLog(AuditLog log, EmbeddedAuditDatabase database) {
        this.log = log;
        this.database = database;
    }

    @Override
    public boolean record(AuditEvent event) {
        return log.record(event);
    }

    @Override
    public boolean isAccepting() {
        return log.isAccepting();
    }

    @Override
    public AuditConfig.StorePrompts storePrompts() {
        return log.storePrompts();
    }

    @Override
    public Map<String, String> metrics() {
        return log.metrics();
    }

    @Override
    public AuditCounts counts() {
        return log.counts();
    }

    @Override
    public void close(Duration flushTimeout) {
        try {
            log.close(flushTimeout);
        } finally {
            database.close();
        }
    }
}
