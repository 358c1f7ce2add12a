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
 * <p>One per writing thread: it keeps the buffer a batch is encoded into, and the encoded text of
 * recent rows ({@link RepeatedText}).
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
    private static final int INITIAL_BUFFER = 64 * 1024;
    /** A batch of large prompts may need more; its buffer is not kept. */
    private static final int MAX_KEPT_BUFFER = 8 << 20;

    /**
     * How many text columns {@link #encode} numbers for {@link RepeatedText}, those that repeat
     * from row to row (not the trace id, the prompt or its hash). A column added takes the next
     * number and raises this count; a count left too small fails the copy of a row with that
     * column set.
     */
    private static final int REPEATED_COLUMNS = 19;

    // The copying thread's: a buffer used for every batch, and the text of recent rows.
    private final RepeatedText repeated = new RepeatedText(REPEATED_COLUMNS, true);
    private EventCodec.Sink out = new EventCodec.Sink(INITIAL_BUFFER);

    /** Copies {@code events} into the table in one statement; returns how many rows it wrote. */
    long copy(Connection c, List<AuditEvent> events) throws SQLException {
        try {
            encode(events);
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
        } finally {
            if (out.array().length > MAX_KEPT_BUFFER) {
                out = new EventCodec.Sink(INITIAL_BUFFER);
            }
        }
    }

    /** The COPY stream of {@code events}, header, one tuple per event, trailer; valid until the next call. */
    EventCodec.Sink encode(List<AuditEvent> events) {
        out.reset();
        out.writeBytes(SIGNATURE);
        out.writeInt(0); // flags
        out.writeInt(0); // header extension length
        for (AuditEvent e : events) {
            out.writeShort(COLUMNS);
            uuid(e);
            text(0, e.kind().dbName());
            textOnce(e.traceId());
            int8(EventCodec.micros(e.startTime()) - POSTGRES_EPOCH_MICROS);
            int8(EventCodec.micros(e.endTime()) - POSTGRES_EPOCH_MICROS);
            text(1, e.api());
            text(2, e.method());
            text(3, e.tenant());
            text(4, e.subject());
            text(5, e.credentialKind());
            text(6, e.keyId());
            text(7, e.clientAddress());
            text(8, e.model());
            text(9, e.adapter());
            out.writeInt(4);
            out.writeInt(e.priority());
            text(10, e.sidecar());
            text(11, e.statusCode());
            text(12, e.statusDescription());
            int8(e.chunks());
            int8(e.promptTokens());
            if (e.timeToFirstChunkNanos() < 0) {
                out.writeInt(-1);
            } else {
                float8(e.timeToFirstChunkNanos() / 1e6);
            }
            float8(e.durationNanos() / 1e6);
            int8(e.bytesOut());
            text(13, e.quotaDecision());
            out.writeInt(1);
            out.writeByte((byte) (e.cancelledByClient() ? 1 : 0));
            text(14, e.reason());
            text(15, e.command());
            if (e.payload().isEmpty()) {
                out.writeInt(-1);
            } else {
                final byte[] json = EventTable.json(e.payload()).getBytes(StandardCharsets.UTF_8);
                out.writeInt(1 + json.length);
                out.writeByte(JSONB_VERSION);
                out.writeBytes(json);
            }
            textOnce(e.promptSha256());
            textOnce(e.prompt());
            text(16, e.alias());
            text(17, e.backend());
            text(18, e.degraded());
        }
        out.writeShort(-1);
        return out;
    }

    private void uuid(AuditEvent e) {
        out.writeInt(16);
        out.writeLong(e.eventId().getMostSignificantBits());
        out.writeLong(e.eventId().getLeastSignificantBits());
    }

    private void int8(long v) {
        out.writeInt(8);
        out.writeLong(v);
    }

    private void float8(double v) {
        int8(Double.doubleToLongBits(v));
    }

    /** As {@link EventTable#text}: NULL for empty text; NUL, which text cannot hold, as U+FFFD. */
    private void text(int field, String s) {
        if (s.isEmpty()) {
            out.writeInt(-1);
        } else {
            value(repeated.bytes(field, s));
        }
    }

    /** As {@link #text}, for text that differs from row to row. */
    private void textOnce(String s) {
        if (s.isEmpty()) {
            out.writeInt(-1);
        } else {
            value(repeated.once(s));
        }
    }

    private void value(byte[] bytes) {
        out.writeInt(bytes.length);
        out.writeBytes(bytes);
    }
}
