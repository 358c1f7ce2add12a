package io.cy.coordinator.audit;

import static java.util.Objects.requireNonNull;

import io.cy.audit.DbUrl;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * {@code cy-coordinator --audit-query}: runs one query on the audit database and prints the rows
 * as a table, so that a look at the audit log needs nothing installed (no psql). Every transaction
 * of its session is read-only and statements time out: this is for looking, not for changing the
 * log. That guards against accidents; it is no permission boundary (a role that may only read is).
 */
public final class AuditQuery {

    public static final String FLAG = "--audit-query";
    /** The latest events, a few columns each; what the startup log and the quickstart point to. */
    public static final String LATEST = "SELECT end_time, kind, tenant, method, alias, backend, model, status_code, chunks,"
            + " trace_id FROM cy_audit.audit_event ORDER BY end_time DESC LIMIT 10";
    /** More would not be read on a terminal; the note under the table says so. */
    static final int MAX_ROWS = 1000;
    private static final int CONNECT_TIMEOUT_S = 10;
    /** A look at the log that takes longer is a mistake (a missing WHERE on a large table). */
    static final int STATEMENT_TIMEOUT_S = 30;

    private AuditQuery() {}

    /**
     * Runs {@code sql} on {@code url} and prints its rows to {@code out}, psql-style: a header, a
     * rule, one line per row (NULL as empty), and the number of rows.
     *
     * @return the number of rows printed
     */
    public static int run(DbUrl url, String sql, PrintStream out) throws SQLException {
        return run(url, sql, out, STATEMENT_TIMEOUT_S);
    }

    static int run(DbUrl url, String sql, PrintStream out, int statementTimeoutSeconds) throws SQLException {
        requireNonNull(sql, "sql");
        requireNonNull(out, "out");
        try (Connection connection = readOnly(url, "cy-audit-query", CONNECT_TIMEOUT_S, statementTimeoutSeconds)) {
            try (Statement statement = connection.createStatement()) {
                statement.setMaxRows(MAX_ROWS + 1);
                final boolean hasRows = statement.execute(sql);
                final ResultSet rows = hasRows ? statement.getResultSet() : null;
                if (statement.getMoreResults(Statement.KEEP_CURRENT_RESULT) || statement.getUpdateCount() != -1) {
                    throw new SQLException(FLAG + ": one SQL statement only (it holds more than one)");
                }
                final int printed;
                if (rows == null) {
                    out.println("(no rows: the statement returned no result set)");
                    printed = 0;
                } else {
                    printed = print(rows, out);
                }
                connection.rollback();
                return printed;
            } catch (SQLException e) {
                rollBack(connection, e);
                throw e;
            }
        }
    }

    /**
     * A connection to {@code url} whose every transaction is read-only and whose statements time
     * out after {@code statementTimeoutSeconds}; auto-commit off, so the caller rolls back.
     */
    public static Connection readOnly(DbUrl url, String applicationName, int connectTimeoutSeconds,
                                      int statementTimeoutSeconds) throws SQLException {
        requireNonNull(url, "url");
        requireNonNull(applicationName, "applicationName");
        final Properties properties = new Properties();
        if (url.user() != null) {
            properties.setProperty("user", url.user());
        }
        if (url.password() != null) {
            properties.setProperty("password", url.password());
        }
        properties.setProperty("connectTimeout", Integer.toString(connectTimeoutSeconds));
        properties.setProperty("ApplicationName", applicationName);
        // For the whole session, so that a COMMIT inside the SQL does not open a writable transaction.
        properties.setProperty("options", "-c default_transaction_read_only=on -c statement_timeout="
                + statementTimeoutSeconds + "s");
        final Connection connection = DriverManager.getConnection(url.jdbcUrl(), properties);
        try {
            connection.setAutoCommit(false);
            connection.setReadOnly(true);
            return connection;
        } catch (SQLException e) {
            connection.close();
            throw e;
        }
    }

    /** Nothing was meant to change; a failure to roll back must not hide why the query failed. */
    private static void rollBack(Connection connection, SQLException cause) {
        try {
            connection.rollback();
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }

    private static int print(ResultSet rows, PrintStream out) throws SQLException {
        final ResultSetMetaData meta = rows.getMetaData();
        final int columns = meta.getColumnCount();
        final String[] header = new String[columns];
        final int[] widths = new int[columns];
        for (int i = 0; i < columns; i++) {
            header[i] = meta.getColumnLabel(i + 1);
            widths[i] = header[i].length();
        }
        final List<String[]> lines = new ArrayList<>();
        boolean more = false;
        while (rows.next()) {
            if (lines.size() == MAX_ROWS) {
                more = true;
                break;
            }
            final String[] line = new String[columns];
            for (int i = 0; i < columns; i++) {
                line[i] = cell(rows.getString(i + 1));
                widths[i] = Math.max(widths[i], line[i].length());
            }
            lines.add(line);
        }
        out.println(line(header, widths));
        final StringBuilder rule = new StringBuilder();
        for (int i = 0; i < columns; i++) {
            rule.append(i == 0 ? "" : "+").append("-".repeat(widths[i] + 2));
        }
        out.println(rule);
        for (String[] line : lines) {
            out.println(line(line, widths));
        }
        out.println("(" + lines.size() + (lines.size() == 1 ? " row" : " rows")
                + (more ? "; more not shown, add a LIMIT" : "") + ")");
        return lines.size();
    }

    private static String line(String[] cells, int[] widths) {
        final StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            line.append(i == 0 ? " " : " | ").append(cells[i]);
            if (i < cells.length - 1) {
                line.append(" ".repeat(widths[i] - cells[i].length()));
            }
        }
        return line.toString();
    }

    /** One line per row, whatever a value holds. */
    private static String cell(String value) {
        if (value == null) {
            return "";
        }
        return value.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t");
    }
}
