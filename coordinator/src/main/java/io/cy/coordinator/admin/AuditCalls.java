package io.cy.coordinator.admin;

import static java.util.Objects.requireNonNull;

import io.cy.audit.DbUrl;
import io.cy.coordinator.audit.AuditQuery;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console's recent calls from the audit log ({@code cy_audit.audit_event}): calls and
 * refusals of the last week, newest first. Each request opens a read-only session whose
 * statements time out, on the admin thread that serves it: a slow or absent database delays the
 * console alone, never a call.
 */
final class AuditCalls implements CallSource {

    private static final Logger logger = LoggerFactory.getLogger(AuditCalls.class);
    static final int LIMIT = 100;
    private static final int CONNECT_TIMEOUT_S = 3;
    private static final int STATEMENT_TIMEOUT_S = 5;
    // The week bounds the partitions read; the filters are equalities on indexed or narrow columns.
    private static final String SQL = "SELECT end_time, trace_id, kind, api, tenant, model, alias, backend, sidecar,"
            + " status_code, status_description, duration_ms, ttfc_ms, chunks FROM cy_audit.audit_event"
            + " WHERE kind IN ('call', 'rejected') AND end_time > now() - interval '7 days'"
            + " AND (? = '' OR tenant = ?) AND (? = '' OR status_code = upper(?))"
            + " AND (? = '' OR model = ? OR alias = ?)"
            + " ORDER BY end_time DESC LIMIT " + LIMIT;

    private final DbUrl url;

    AuditCalls(DbUrl url) {
        this.url = requireNonNull(url, "url");
    }

    @Override
    public String name() {
        return "audit";
    }

    @Override
    public List<CallRow> recent(CallFilter filter) {
        try (Connection connection = AuditQuery.readOnly(url, "cy-admin-console", CONNECT_TIMEOUT_S,
                STATEMENT_TIMEOUT_S);
             PreparedStatement statement = connection.prepareStatement(SQL)) {
            int i = 0;
            statement.setString(++i, filter.tenant());
            statement.setString(++i, filter.tenant());
            statement.setString(++i, filter.status());
            statement.setString(++i, filter.status());
            statement.setString(++i, filter.model());
            statement.setString(++i, filter.model());
            statement.setString(++i, filter.model());
            final List<CallRow> rows = new ArrayList<>();
            try (ResultSet result = statement.executeQuery()) {
                while (result.next()) {
                    rows.add(row(result));
                }
            }
            connection.rollback();
            return rows;
        } catch (SQLException e) {
            logger.debug("recent calls from the audit log failed", e);
            throw new ApiException(503, "audit_unavailable", "the audit database did not answer: " + e.getMessage());
        }
    }

    private static CallRow row(ResultSet r) throws SQLException {
        final Timestamp end = r.getTimestamp("end_time");
        final double duration = r.getDouble("duration_ms");
        final Double durationMs = r.wasNull() ? null : duration;
        final double ttfc = r.getDouble("ttfc_ms");
        final Double ttftMs = r.wasNull() ? null : ttfc;
        return new CallRow(end.toInstant(), text(r, "trace_id"), text(r, "kind"), text(r, "api"), text(r, "tenant"),
                text(r, "model"), text(r, "alias"), text(r, "backend"), text(r, "sidecar"), text(r, "status_code"),
                text(r, "status_description"), durationMs, ttftMs, r.getLong("chunks"));
    }

    private static String text(ResultSet r, String column) throws SQLException {
        final String value = r.getString(column);
        return value == null ? "" : value;
    }
}
