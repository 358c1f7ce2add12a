package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cy.audit.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/** The coordinator's audit table in a test database, read back for the audit tests' checks. */
final class AuditTable {

    /** How long the writer may take to get events into the table (it batches every 50 ms in these tests). */
    static final Duration ARRIVAL = Duration.ofSeconds(20);

    private static final ObjectMapper JSON = new ObjectMapper();

    private AuditTable() {}

    /** One row of {@code cy_audit.audit_event}; NULL text columns are null. */
    record Row(String eventId, String kind, String traceId, String api, String method, String tenant, String subject,
               String credentialKind, String keyId, String clientAddress, String model, String sidecar,
               String statusCode, String statusDescription, long chunks, long promptTokens, Double ttfcMs,
               double durationMs, long bytesOut, String quotaDecision, boolean cancelledByClient, String reason,
               String command, Map<String, String> payload) {

        @Override
        public String toString() {
            return kind + " " + method + " trace_id=" + traceId + " api=" + api + " tenant=" + tenant
                    + " status=" + statusCode + " quota=" + quotaDecision + " reason=" + reason
                    + " command=" + command;
        }
    }

    /** Every row, in the order the writer inserted them. */
    static List<Row> rows(TestDatabase.Db db) throws SQLException {
        final List<Row> rows = new ArrayList<>();
        try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement("""
                SELECT event_id::text, kind, trace_id, api, method, tenant, subject, credential_kind, key_id,
                       client_address, model, sidecar, status_code, status_description, chunks, prompt_tokens,
                       ttfc_ms, duration_ms, bytes_out, quota_decision, cancelled_by_client, reason, command,
                       payload::text
                FROM cy_audit.audit_event ORDER BY ingest_seq""");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                final double ttfc = rs.getDouble(17);
                final Double ttfcMs = rs.wasNull() ? null : ttfc;
                rows.add(new Row(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                        rs.getString(6), rs.getString(7), rs.getString(8), rs.getString(9), rs.getString(10),
                        rs.getString(11), rs.getString(12), rs.getString(13), rs.getString(14), rs.getLong(15),
                        rs.getLong(16), ttfcMs, rs.getDouble(18), rs.getLong(19), rs.getString(20),
                        rs.getBoolean(21), rs.getString(22), rs.getString(23), payload(rs.getString(24))));
            }
        }
        return rows;
    }

    /** Rows in the table; 0 while the writer has not created it yet. */
    static long count(TestDatabase.Db db) {
        try {
            if (single(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE n.nspname = 'cy_audit' AND c.relname = 'audit_event'", null) == 0) {
                return 0;
            }
            return single(db, "SELECT count(*) FROM cy_audit.audit_event", null);
        } catch (SQLException e) {
            throw new IllegalStateException("counting audit rows failed", e);
        }
    }

    /** Distinct event ids in the table. */
    static long distinctEventIds(TestDatabase.Db db) throws SQLException {
        return single(db, "SELECT count(DISTINCT event_id) FROM cy_audit.audit_event", null);
    }

    /** Rows holding {@code text} anywhere, in any column. */
    static long rowsContaining(TestDatabase.Db db, String text) throws SQLException {
        return single(db, "SELECT count(*) FROM cy_audit.audit_event e WHERE strpos(e::text, ?) > 0", text);
    }

    /** Waits until the table holds at least {@code n} rows, then returns them. */
    static List<Row> awaitRows(TestDatabase.Db db, long n) throws Exception {
        Eventually.await(n + " audit rows in the table (now " + count(db) + ")", ARRIVAL, () -> count(db) >= n);
        return rows(db);
    }

    /** Waits until a row {@code matching} is in the table, then returns the one row that matches. */
    static Row awaitRow(TestDatabase.Db db, String what, Predicate<Row> matching) throws Exception {
        Eventually.await("a row for " + what, ARRIVAL, () -> {
            try {
                return rows(db).stream().anyMatch(matching);
            } catch (SQLException e) {
                return false;
            }
        });
        return only(rows(db), what, matching);
    }

    /** The one row {@code matching}; fails listing all rows when there is none or more than one. */
    static Row only(List<Row> rows, String what, Predicate<Row> matching) {
        final List<Row> found = rows.stream().filter(matching).collect(Collectors.toList());
        assertThat(found).as("exactly one row for %s among%n%s", what, describe(rows)).hasSize(1);
        return found.get(0);
    }

    static String describe(List<Row> rows) {
        return rows.stream().map(Row::toString).collect(Collectors.joining("\n  ", "  ", ""));
    }

    private static long single(TestDatabase.Db db, String sql, String parameter) throws SQLException {
        try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement(sql)) {
            if (parameter != null) {
                ps.setString(1, parameter);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static Map<String, String> payload(String json) {
        if (json == null) {
            return null;
        }
        try {
            return JSON.readValue(json, new TypeReference<Map<String, String>>() { });
        } catch (IOException e) {
            throw new UncheckedIOException("payload is not a JSON object of strings: " + json, e);
        }
    }
}
