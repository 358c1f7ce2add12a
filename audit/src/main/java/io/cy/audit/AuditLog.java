package io.cy.audit;

import java.time.Duration;
import java.util.Map;

/**
 * Where the coordinator records what happened. Implementations are safe for use from any thread.
 */
public interface AuditLog {

    /**
     * Hands an event to the log. Constant time: never blocks, does no I/O, never throws.
     *
     * @return false only when the event was dropped (counted in {@code audit_dropped} and logged)
     */
    boolean record(AuditEvent event);

    /**
     * Whether new calls may be admitted. False only with {@code audit.on_unavailable: fail_closed}
     * when events can be neither written nor spooled; the caller then refuses the call with
     * UNAVAILABLE "audit log unavailable" rather than serve it unaudited.
     */
    boolean isAccepting();

    /** What {@link AuditEvent.Builder#prompt} is to keep of prompts. */
    AuditConfig.StorePrompts storePrompts();

    /**
     * {@code audit_queue} (events waiting in memory), {@code audit_spool_bytes} (bytes of events
     * in the spool not yet in the database),
     * {@code audit_db} ({@code up}, {@code down}, or {@code disabled}) and {@code audit_dropped}
     * (events lost since start).
     */
    Map<String, String> metrics();

    /** Events written, spooled and dropped since start, and the queue's depth now; read without locking. */
    default AuditCounts counts() {
        return AuditCounts.NONE;
    }

    /**
     * Writes what is queued to the database, waiting at most {@code flushTimeout}, then spools
     * whatever is left, and releases everything. Events recorded afterwards are dropped.
     */
    void close(Duration flushTimeout);
}
