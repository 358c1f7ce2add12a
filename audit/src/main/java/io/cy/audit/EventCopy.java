package io.cy.audit;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * Writes a batch into {@code cy_audit.audit_event} with one {@code COPY … FROM STDIN (FORMAT
 * binary)}: each value in PostgreSQL's own binary form, rows in the batch's order (which numbers
 * {@code ingest_seq}). The batch is all or nothing; COPY cannot skip rows already in the table,
 * so a batch that meets one ({@code unique_violation}, a replay after a crash) is left to
 * {@link EventTable}'s insert, which does.
 *
 * <p>Why not the insert every time: it passes each column as an array, and the driver writes
 * text arrays as escaped array literals, scanning and copying every value twice. Here a value is
 * encoded once, straight into the bytes sent; the database's side is cheaper as well.
 */
final class EventCopy {

    static final String COPY = "COPY cy_audit.audit_event (event_id, kind, trace_id, start_time, end_time, api, "
            + "method, tenant, subject, credential_kind, key_id, client_address, model, adapter, priority, sidecar, "
            + "status_code, status_description, chunks, prompt_tokens, ttfc_ms, duration_ms, bytes_out, "
            + "quota_decision, cancelled_by_client, reason, command, payload, prompt_sha256, prompt, alias, backend, "
            + "degraded) FROM STDIN (FORMAT binary)";
    static final String UNIQUE_VIOLATION = "23505";

    private static final int COLUMNS = 33;
    private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xFF, '\r', '\n', 0};
    /** PostgreSQL's timestamps count microseconds from 2000-01-01 UTC. */
    private static final long POSTGRES_EPOCH_MICROS = 946_684_800_000_000L;
    private static final byte JSONB_VERSION = 1;
    private static final byte[] REPLACEMENT = "\uFFFD".getBytes(StandardCharsets.UTF_8);

    private EventCopy() {}

    /** Copies {@code events} into the table in one statement; returns how many rows it wrote. */
    static long copy(Connection c, List<AuditEvent> events) throws SQLException {
        final EventCodec.Sink out = encode(events);
        final CopyIn copy = c.unwrap(PGConnection.class).getCopyAPI().copyIn(COPY);
        try {
            copy.writeToCopy(out.array(), 0, out.size());
            return copy.endCopy();
        } catch (SQLException | RuntimeException e) {
            // The statement's own failure is what the caller acts on (its SQL state), not the cancel's.
            if (copy.isActive()) {
                try {
                    copy.cancelCopy();
                } catch (SQLException cancel) {
                    e.addSuppressed(cancel);
                }
            }
            throw e;
        }
    }

    /** The COPY stream: header, one tuple per event, trailer. */
    static EventCodec.Sink encode(List<AuditEvent> events) {
        final EventCodec.Sink out = new EventCodec.Sink(64 + 512 * events.size());
        out.writeBytes(SIGNATURE);
        out.writeInt(0); // flags
        out.writeInt(0); // header extension length
        for (AuditEvent e : events) {
            out.writeShort(COLUMNS);
            uuid(out, e);
            text(out, e.kind().dbName());
            text(out, e.traceId());
            int8(out, EventCodec.micros(e.startTime()) - POSTGRES_EPOCH_MICROS);
            int8(out, EventCodec.micros(e.endTime()) - POSTGRES_EPOCH_MICROS);
            text(out, e.api());
            text(out, e.method());
            text(out, e.tenant());
            text(out, e.subject());
            text(out, e.credentialKind());
            text(out, e.keyId());
            text(out, e.clientAddress());
            text(out, e.model());
            text(out, e.adapter());
            out.writeInt(4);
            out.writeInt(e.priority());
            text(out, e.sidecar());
            text(out, e.statusCode());
            text(out, e.statusDescription());
            int8(out, e.chunks());
            int8(out, e.promptTokens());
            if (e.timeToFirstChunkNanos() < 0) {
                out.writeInt(-1);
            } else {
                float8(out, e.timeToFirstChunkNanos() / 1e6);
            }
            float8(out, e.durationNanos() / 1e6);
            int8(out, e.bytesOut());
            text(out, e.quotaDecision());
            out.writeInt(1);
            out.writeByte((byte) (e.cancelledByClient() ? 1 : 0));
            text(out, e.reason());
            text(out, e.command());
            if (e.payload().isEmpty()) {
                out.writeInt(-1);
            } else {
                final byte[] json = EventTable.json(e.payload()).getBytes(StandardCharsets.UTF_8);
                out.writeInt(1 + json.length);
                out.writeByte(JSONB_VERSION);
                out.writeBytes(json);
            }
            text(out, e.promptSha256());
            text(out, e.prompt());
            text(out, e.alias());
            text(out, e.backend());
            text(out, e.degraded());
        }
        out.writeShort(-1);
        return out;
    }

    private static void uuid(EventCodec.Sink out, AuditEvent e) {
        out.writeInt(16);
        out.writeLong(e.eventId().getMostSignificantBits());
        out.writeLong(e.eventId().getLeastSignificantBits());
    }

    private static void int8(EventCodec.Sink out, long v) {
        out.writeInt(8);
        out.writeLong(v);
    }

    private static void float8(EventCodec.Sink out, double v) {
        int8(out, Double.doubleToLongBits(v));
    }

    /** As {@link EventTable#text}: NULL for empty text; NUL, which text cannot hold, as U+FFFD. */
    private static void text(EventCodec.Sink out, String s) {
        if (s.isEmpty()) {
            out.writeInt(-1);
            return;
        }
        final byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        final int lengthAt = out.skipInt();
        final int start = out.size();
        int from = 0;
        for (int i = 0; i < utf8.length; i++) {
            // A zero byte in UTF-8 is the NUL character and nothing else.
            if (utf8[i] == 0) {
                out.writeBytes(utf8, from, i - from);
                out.writeBytes(REPLACEMENT);
                from = i + 1;
            }
        }
        out.writeBytes(utf8, from, utf8.length - from);
        out.putInt(lengthAt, out.size() - start);
    }
}
