package io.cy.audit;

import java.io.StringReader;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * Compares the two ways of writing a batch: one INSERT … SELECT FROM unnest(arrays) (what
 * {@link EventTable} does) against COPY into a temporary table followed by INSERT … SELECT … ON
 * CONFLICT (COPY itself cannot skip conflicts). Run: {@code java -cp <test classpath>
 * io.cy.audit.InsertMethods [events] [batchSize]}.
 */
public final class InsertMethods {

    private InsertMethods() {}

    public static void main(String[] args) throws Exception {
        final int events = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        final int batchSize = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        final List<AuditEvent> all = new ArrayList<>(events);
        final Instant base = Instant.now();
        for (int i = 0; i < events; i++) {
            all.add(Events.call("tenant-" + i % 4, base.plusNanos(i * 1000L), i));
        }
        for (int round = 0; round < 2; round++) {
            System.out.printf("round %d: unnest %,.0f events/s, copy %,.0f events/s%n", round,
                    run(all, batchSize, false), run(all, batchSize, true));
        }
        System.exit(0);
    }

    private static double run(List<AuditEvent> all, int batchSize, boolean copy) throws Exception {
        final TestDatabase.Db db = TestDatabase.create();
        try (var ds = SchemaTest.dataSource(db)) {
            Schema.migrate(ds);
        }
        try (Connection c = db.connect()) {
            Schema.ensurePartition(c, YearMonth.from(all.get(0).endTime().atOffset(ZoneOffset.UTC)));
            Schema.ensurePartition(c, YearMonth.from(all.get(all.size() - 1).endTime().atOffset(ZoneOffset.UTC)));
            if (copy) {
                try (Statement st = c.createStatement()) {
                    st.execute("CREATE TEMP TABLE stage ON COMMIT DELETE ROWS AS SELECT 0 AS ord, * FROM cy_audit.audit_event WITH NO DATA");
                }
                c.setAutoCommit(false);
            }
            final long start = System.nanoTime();
            for (int i = 0; i < all.size(); i += batchSize) {
                final List<AuditEvent> batch = all.subList(i, Math.min(all.size(), i + batchSize));
                if (copy) {
                    copy(c, batch);
                } else {
                    EventTable.insert(c, batch);
                }
            }
            final double seconds = (System.nanoTime() - start) / 1e9;
            if (Rows.count(db) != all.size()) {
                throw new AssertionError("rows: " + Rows.count(db));
            }
            return all.size() / seconds;
        }
    }

    private static void copy(Connection c, List<AuditEvent> batch) throws Exception {
        final StringBuilder text = new StringBuilder(batch.size() * 400);
        int ord = 0;
        for (AuditEvent e : batch) {
            text.append(ord++).append('\t').append(e.eventId()).append('\t').append(e.kind().dbName());
            field(text, e.traceId());
            text.append('\t').append(e.startTime()).append('\t').append(e.endTime());
            field(text, e.api());
            field(text, e.method());
            field(text, e.tenant());
            field(text, e.subject());
            field(text, e.credentialKind());
            field(text, e.keyId());
            field(text, e.clientAddress());
            field(text, e.model());
            field(text, e.adapter());
            text.append('\t').append(e.priority());
            field(text, e.sidecar());
            field(text, e.statusCode());
            field(text, e.statusDescription());
            text.append('\t').append(e.chunks()).append('\t').append(e.promptTokens());
            text.append('\t').append(e.timeToFirstChunkNanos() < 0 ? "\\N" : e.timeToFirstChunkNanos() / 1e6);
            text.append('\t').append(e.durationNanos() / 1e6).append('\t').append(e.bytesOut());
            field(text, e.quotaDecision());
            text.append('\t').append(e.cancelledByClient() ? 't' : 'f');
            field(text, e.reason());
            field(text, e.command());
            field(text, e.payload().isEmpty() ? "" : EventTable.json(e.payload()));
            field(text, e.promptSha256());
            field(text, e.prompt());
            text.append('\n');
        }
        final CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
        copy.copyIn("COPY stage (ord, event_id, kind, trace_id, start_time, end_time, api, method, tenant, subject, "
                + "credential_kind, key_id, client_address, model, adapter, priority, sidecar, status_code, "
                + "status_description, chunks, prompt_tokens, ttfc_ms, duration_ms, bytes_out, quota_decision, "
                + "cancelled_by_client, reason, command, payload, prompt_sha256, prompt) FROM STDIN",
                new StringReader(text.toString()));
        try (Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO cy_audit.audit_event (event_id, kind, trace_id, start_time, end_time, api, "
                    + "method, tenant, subject, credential_kind, key_id, client_address, model, adapter, priority, "
                    + "sidecar, status_code, status_description, chunks, prompt_tokens, ttfc_ms, duration_ms, "
                    + "bytes_out, quota_decision, cancelled_by_client, reason, command, payload, prompt_sha256, "
                    + "prompt) SELECT event_id, kind, trace_id, start_time, end_time, api, method, tenant, subject, "
                    + "credential_kind, key_id, client_address, model, adapter, priority, sidecar, status_code, "
                    + "status_description, chunks, prompt_tokens, ttfc_ms, duration_ms, bytes_out, quota_decision, "
                    + "cancelled_by_client, reason, command, payload, prompt_sha256, prompt FROM stage ORDER BY ord "
                    + "ON CONFLICT (event_id, end_time) DO NOTHING");
        }
        c.commit();
    }

    private static void field(StringBuilder out, String s) {
        out.append('\t');
        if (s.isEmpty()) {
            out.append("\\N");
            return;
        }
        for (int i = 0; i < s.length(); i++) {
            final char ch = s.charAt(i);
            switch (ch) {
                case '\\' -> out.append("\\\\");
                case '\t' -> out.append("\\t");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\0' -> out.append('\uFFFD');
                default -> out.append(ch);
            }
        }
    }
}
