package io.cy.audit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/** Reads the audit table back, for comparison with what was recorded. */
final class Rows {

    private Rows() {}

    /** Every row as an event, in the order they were inserted. */
    static List<AuditEvent> all(TestDatabase.Db db) throws SQLException {
        final List<AuditEvent> events = new ArrayList<>();
        try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement("""
                SELECT event_id, kind, trace_id, start_time, end_time, api, method, tenant, subject, credential_kind,
                       key_id, client_address, model, adapter, priority, sidecar, status_code, status_description,
                       chunks, prompt_tokens, ttfc_ms, duration_ms, bytes_out, quota_decision, cancelled_by_client,
                       reason, command,
                       (SELECT string_agg(key || '=' || value, '&' ORDER BY key) FROM jsonb_each_text(payload)),
                       prompt_sha256, prompt, alias, backend, degraded
                FROM cy_audit.audit_event ORDER BY ingest_seq""");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                int i = 1;
                final UUID id = rs.getObject(i++, UUID.class);
                final AuditEvent.Kind kind = AuditEvent.Kind.valueOf(rs.getString(i++).toUpperCase());
                final String traceId = rs.getString(i++);
                final Instant start = rs.getObject(i++, java.time.OffsetDateTime.class).toInstant();
                final Instant end = rs.getObject(i++, java.time.OffsetDateTime.class).toInstant();
                final String api = rs.getString(i++);
                final String method = rs.getString(i++);
                final String tenant = rs.getString(i++);
                final String subject = rs.getString(i++);
                final String credentialKind = rs.getString(i++);
                final String keyId = rs.getString(i++);
                final String clientAddress = rs.getString(i++);
                final String model = rs.getString(i++);
                final String adapter = rs.getString(i++);
                final int priority = rs.getInt(i++);
                final String sidecar = rs.getString(i++);
                final String statusCode = rs.getString(i++);
                final String statusDescription = rs.getString(i++);
                final long chunks = rs.getLong(i++);
                final long promptTokens = rs.getLong(i++);
                final double ttfcMs = rs.getDouble(i);
                final long ttfc = rs.wasNull() ? -1 : Math.round(ttfcMs * 1e6);
                i++;
                final long duration = Math.round(rs.getDouble(i++) * 1e6);
                final long bytesOut = rs.getLong(i++);
                final String quotaDecision = rs.getString(i++);
                final boolean cancelled = rs.getBoolean(i++);
                final String reason = rs.getString(i++);
                final String command = rs.getString(i++);
                final Map<String, String> payload = new TreeMap<>();
                final String pairs = rs.getString(i++);
                if (pairs != null) {
                    for (String pair : pairs.split("&")) {
                        final int eq = pair.indexOf('=');
                        payload.put(pair.substring(0, eq), pair.substring(eq + 1));
                    }
                }
                final String promptSha256 = rs.getString(i++);
                final String prompt = rs.getString(i++);
                final String alias = rs.getString(i++);
                final String backend = rs.getString(i++);
                final String degraded = rs.getString(i);
                events.add(new AuditEvent(kind, id, traceId, start, end, api, method, tenant, subject, credentialKind,
                        keyId, clientAddress, model, adapter, priority, sidecar, statusCode, statusDescription, chunks,
                        promptTokens, ttfc, duration, bytesOut, quotaDecision, cancelled, reason, command, payload,
                        promptSha256, prompt, alias, backend, degraded));
            }
        }
        return events;
    }

    static Set<UUID> ids(TestDatabase.Db db) throws SQLException {
        final Set<UUID> ids = new HashSet<>();
        try (Connection c = db.connect();
                PreparedStatement ps = c.prepareStatement("SELECT event_id FROM cy_audit.audit_event");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                ids.add(rs.getObject(1, UUID.class));
            }
        }
        return ids;
    }

    static long count(TestDatabase.Db db) throws SQLException {
        return db.count("SELECT count(*) FROM cy_audit.audit_event");
    }

    /**
     * Rows per write to the table, in the order written: the rows of one COPY (or one insert)
     * share the transaction that wrote them.
     */
    static List<Long> perWrite(TestDatabase.Db db) throws SQLException {
        final List<Long> counts = new ArrayList<>();
        try (var c = db.connect(); var st = c.createStatement();
             var rs = st.executeQuery("SELECT count(*) FROM cy_audit.audit_event GROUP BY xmin::text "
                     + "ORDER BY min(ingest_seq)")) {
            while (rs.next()) {
                counts.add(rs.getLong(1));
            }
        }
        return counts;
    }

    /** 0 when the table does not exist yet. */
    static long countIfPresent(TestDatabase.Db db) throws SQLException {
        if (db.count("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = 'cy_audit' AND c.relname = 'audit_event'") == 0) {
            return 0;
        }
        return count(db);
    }

    /** Rows inserted after a row of the same tenant that ended later. */
    static long outOfOrderPerTenant(TestDatabase.Db db) throws SQLException {
        return db.count("""
                SELECT count(*) FROM (
                    SELECT end_time < lag(end_time) OVER (PARTITION BY tenant ORDER BY ingest_seq) AS earlier
                    FROM cy_audit.audit_event) r
                WHERE r.earlier""");
    }
}
