package io.cy.audit;

/**
 * The audit log's counters since start, for metrics.
 *
 * @param written events inserted into the database
 * @param spooled events appended to the spool on disk
 * @param dropped events lost (queue full, spool full, or recorded after close)
 * @param queueDepth events waiting in memory for the spool
 */
public record AuditCounts(long written, long spooled, long dropped, long queueDepth) {

    public static final AuditCounts NONE = new AuditCounts(0, 0, 0, 0);
}
