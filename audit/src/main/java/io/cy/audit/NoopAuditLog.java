package io.cy.audit;

import java.time.Duration;
import java.util.Map;

/** The audit log when auditing is turned off: takes every event and keeps none. */
public final class NoopAuditLog implements AuditLog {

    @Override
    public boolean record(AuditEvent event) {
        return true;
    }

    @Override
    public boolean isAccepting() {
        return true;
    }

    @Override
    public AuditConfig.StorePrompts storePrompts() {
        return AuditConfig.StorePrompts.NONE;
    }

    @Override
    public Map<String, String> metrics() {
        return Map.of("audit_queue", "0", "audit_spool_bytes", "0", "audit_db", "disabled", "audit_dropped", "0");
    }

    @Override
    public void close(Duration flushTimeout) {}
}
