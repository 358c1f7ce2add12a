package io.cy.audit;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Writes events into {@code cy_audit.audit_event}. The usual way is {@link EventCopy}; this insert
 * is for a batch the table already holds some of. One statement per batch, each column passed as
 * one array parameter and turned back into rows by {@code unnest}, so a batch of any size is one
 * round trip with 33 parameters. Rows are inserted in the batch's order (which numbers
 * {@code ingest_seq}); an event already in the table is skipped ({@code ON CONFLICT DO NOTHING}), which
 * makes a replay harmless.
 *
 * <p>One per writing thread. Empty text is stored as NULL; NUL characters, which PostgreSQL text cannot hold, become U+FFFD.
 */
final class EventTable {

    static final String INSERT = """
            INSERT INTO cy_audit.audit_event (
                event_id, kind, trace_id, start_time, end_time, api, method, tenant, subject, credential_kind,
                key_id, client_address, model, adapter, priority, sidecar, status_code, status_description,
                chunks, prompt_tokens, ttfc_ms, duration_ms, bytes_out, quota_decision, cancelled_by_client,
                reason, command, payload, prompt_sha256, prompt, alias, backend, degraded)
            SELECT u.event_id, u.kind, u.trace_id,
                   timestamptz 'epoch' + u.start_us * interval '1 microsecond',
                   timestamptz 'epoch' + u.end_us * interval '1 microsecond',
                   u.api, u.method, u.tenant, u.subject, u.credential_kind, u.key_id, u.client_address, u.model,
                   u.adapter, u.priority, u.sidecar, u.status_code, u.status_description, u.chunks,
                   u.prompt_tokens, u.ttfc_ms, u.duration_ms, u.bytes_out, u.quota_decision,
                   u.cancelled_by_client, u.reason, u.command, u.payload::jsonb, u.prompt_sha256, u.prompt,
                   u.alias, u.backend, u.degraded
            FROM unnest(?::uuid[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::text[],
                        ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],
                        ?::integer[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[],
                        ?::float8[], ?::float8[], ?::bigint[], ?::text[], ?::boolean[], ?::text[],
                        ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
                 WITH ORDINALITY AS u(event_id, kind, trace_id, start_us, end_us, api, method, tenant, subject,
                        credential_kind, key_id, client_address, model, adapter, priority, sidecar,
                        status_code, status_description, chunks, prompt_tokens, ttfc_ms, duration_ms,
                        bytes_out, quota_decision, cancelled_by_client, reason, command, payload,
                        prompt_sha256, prompt, alias, backend, degraded, ord)
            ORDER BY u.ord
            ON CONFLICT (event_id, end_time) DO NOTHING
            """;

    private final EventCopy copy = new EventCopy();

    /**
     * Writes {@code events} in one statement: a binary COPY ({@link EventCopy}), or, when the
     * table holds one of them already, the insert that skips those. Writing thread only.
     */
    void insert(Connection c, List<AuditEvent> events) throws SQLException {
        try {
            copy.copy(c, events);
        } catch (SQLException e) {
            if (!EventCopy.UNIQUE_VIOLATION.equals(e.getSQLState())) {
                throw e;
            }
            insertSkippingKnown(c, events);
        }
    }

    /** Inserts {@code events} in one statement, skipping those already in the table; returns how many were new. */
    static int insertSkippingKnown(Connection c, List<AuditEvent> events) throws SQLException {
        final int n = events.size();
        final UUID[] eventId = new UUID[n];
        final String[] kind = new String[n];
        final String[] traceId = new String[n];
        final Long[] startUs = new Long[n];
        final Long[] endUs = new Long[n];
        final String[] api = new String[n];
        final String[] method = new String[n];
        final String[] tenant = new String[n];
        final String[] subject = new String[n];
        final String[] credentialKind = new String[n];
        final String[] keyId = new String[n];
        final String[] clientAddress = new String[n];
        final String[] model = new String[n];
        final String[] adapter = new String[n];
        final Integer[] priority = new Integer[n];
        final String[] sidecar = new String[n];
        final String[] statusCode = new String[n];
        final String[] statusDescription = new String[n];
        final Long[] chunks = new Long[n];
        final Long[] promptTokens = new Long[n];
        final Double[] ttfcMs = new Double[n];
        final Double[] durationMs = new Double[n];
        final Long[] bytesOut = new Long[n];
        final String[] quotaDecision = new String[n];
        final Boolean[] cancelled = new Boolean[n];
        final String[] reason = new String[n];
        final String[] command = new String[n];
        final String[] payload = new String[n];
        final String[] promptSha256 = new String[n];
        final String[] prompt = new String[n];
        final String[] alias = new String[n];
        final String[] backend = new String[n];
        final String[] degraded = new String[n];
        for (int i = 0; i < n; i++) {
            final AuditEvent e = events.get(i);
            eventId[i] = e.eventId();
            kind[i] = e.kind().dbName();
            traceId[i] = text(e.traceId());
            startUs[i] = EventCodec.micros(e.startTime());
            endUs[i] = EventCodec.micros(e.endTime());
            api[i] = text(e.api());
            method[i] = text(e.method());
            tenant[i] = text(e.tenant());
            subject[i] = text(e.subject());
            credentialKind[i] = text(e.credentialKind());
            keyId[i] = text(e.keyId());
            clientAddress[i] = text(e.clientAddress());
            model[i] = text(e.model());
            adapter[i] = text(e.adapter());
            priority[i] = e.priority();
            sidecar[i] = text(e.sidecar());
            statusCode[i] = text(e.statusCode());
            statusDescription[i] = text(e.statusDescription());
            chunks[i] = e.chunks();
            promptTokens[i] = e.promptTokens();
            ttfcMs[i] = e.timeToFirstChunkNanos() < 0 ? null : e.timeToFirstChunkNanos() / 1e6;
            durationMs[i] = e.durationNanos() / 1e6;
            bytesOut[i] = e.bytesOut();
            quotaDecision[i] = text(e.quotaDecision());
            cancelled[i] = e.cancelledByClient();
            reason[i] = text(e.reason());
            command[i] = text(e.command());
            payload[i] = e.payload().isEmpty() ? null : json(e.payload());
            promptSha256[i] = text(e.promptSha256());
            prompt[i] = text(e.prompt());
            alias[i] = text(e.alias());
            backend[i] = text(e.backend());
            degraded[i] = text(e.degraded());
        }
        try (PreparedStatement ps = c.prepareStatement(INSERT)) {
            int p = 1;
            ps.setArray(p++, c.createArrayOf("uuid", eventId));
            ps.setArray(p++, c.createArrayOf("text", kind));
            ps.setArray(p++, c.createArrayOf("text", traceId));
            ps.setArray(p++, c.createArrayOf("int8", startUs));
            ps.setArray(p++, c.createArrayOf("int8", endUs));
            ps.setArray(p++, c.createArrayOf("text", api));
            ps.setArray(p++, c.createArrayOf("text", method));
            ps.setArray(p++, c.createArrayOf("text", tenant));
            ps.setArray(p++, c.createArrayOf("text", subject));
            ps.setArray(p++, c.createArrayOf("text", credentialKind));
            ps.setArray(p++, c.createArrayOf("text", keyId));
            ps.setArray(p++, c.createArrayOf("text", clientAddress));
            ps.setArray(p++, c.createArrayOf("text", model));
            ps.setArray(p++, c.createArrayOf("text", adapter));
            ps.setArray(p++, c.createArrayOf("int4", priority));
            ps.setArray(p++, c.createArrayOf("text", sidecar));
            ps.setArray(p++, c.createArrayOf("text", statusCode));
            ps.setArray(p++, c.createArrayOf("text", statusDescription));
            ps.setArray(p++, c.createArrayOf("int8", chunks));
            ps.setArray(p++, c.createArrayOf("int8", promptTokens));
            ps.setArray(p++, c.createArrayOf("float8", ttfcMs));
            ps.setArray(p++, c.createArrayOf("float8", durationMs));
            ps.setArray(p++, c.createArrayOf("int8", bytesOut));
            ps.setArray(p++, c.createArrayOf("text", quotaDecision));
            ps.setArray(p++, c.createArrayOf("bool", cancelled));
            ps.setArray(p++, c.createArrayOf("text", reason));
            ps.setArray(p++, c.createArrayOf("text", command));
            ps.setArray(p++, c.createArrayOf("text", payload));
            ps.setArray(p++, c.createArrayOf("text", promptSha256));
            final Array prompts = c.createArrayOf("text", prompt);
            ps.setArray(p++, prompts);
            ps.setArray(p++, c.createArrayOf("text", alias));
            ps.setArray(p++, c.createArrayOf("text", backend));
            ps.setArray(p, c.createArrayOf("text", degraded));
            return ps.executeUpdate();
        }
    }

    /** NULL for empty text; NUL characters replaced, since PostgreSQL text cannot hold them. */
    static String text(String s) {
        if (s.isEmpty()) {
            return null;
        }
        return s.indexOf('\0') < 0 ? s : s.replace('\0', '\uFFFD');
    }

    /** A JSON object of string values. */
    static String json(Map<String, String> map) {
        final StringBuilder out = new StringBuilder(16 * map.size() + 2).append('{');
        boolean first = true;
        for (Map.Entry<String, String> entry : map.entrySet()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            quote(entry.getKey(), out);
            out.append(':');
            quote(entry.getValue(), out);
        }
        return out.append('}').toString();
    }

    private static void quote(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            final char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\0' -> out.append("\\ufffd");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
