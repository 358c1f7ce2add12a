package io.cy.coordinator.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.audit.DbUrl;
import io.cy.audit.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.sql.SQLException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code cy-coordinator --audit-query} against a real PostgreSQL. */
class AuditQueryTest {

    static DbUrl url;

    @BeforeAll
    static void database() throws Exception {
        url = DbUrl.parse(TestDatabase.newDatabase().dbUrl());
    }

    @Test
    void printsAHeaderARuleTheRowsAndTheirCount() throws Exception {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        final int rows = AuditQuery.run(url,
                "SELECT 1 AS n, NULL AS empty, E'two\\nlines' AS text UNION ALL SELECT 22, 'x', 'y'",
                new PrintStream(out, true, UTF_8));

        assertThat(rows).isEqualTo(2);
        assertThat(out.toString(UTF_8).lines()).containsExactly(
                " n  | empty | text",
                "----+-------+------------",
                " 1  |       | two\\nlines",
                " 22 | x     | y",
                "(2 rows)");
    }

    @Test
    void saysWhenMoreRowsThanItShowsMatched() throws Exception {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        final int rows = AuditQuery.run(url, "SELECT generate_series(1, 1500) AS n",
                new PrintStream(out, true, UTF_8));

        assertThat(rows).isEqualTo(AuditQuery.MAX_ROWS);
        assertThat(out.toString(UTF_8).lines()).last().isEqualTo("(1000 rows; more not shown, add a LIMIT)");
    }

    @Test
    void cannotChangeAnything() {
        assertThatThrownBy(() -> AuditQuery.run(url, "CREATE TABLE cy_audit_query_test (x int)",
                new PrintStream(new ByteArrayOutputStream(), true, UTF_8)))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("read-only transaction");
    }

    @Test
    void aCommitInTheSqlDoesNotOpenAWritableTransaction() throws Exception {
        assertThatThrownBy(() -> AuditQuery.run(url, "COMMIT; CREATE TABLE cy_audit_query_commit (x int)",
                new PrintStream(new ByteArrayOutputStream(), true, UTF_8)))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("read-only transaction");
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        AuditQuery.run(url, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'cy_audit_query_commit'",
                new PrintStream(out, true, UTF_8));
        assertThat(out.toString(UTF_8).lines()).contains(" 0");
    }

    @Test
    void runsOneStatementOnly() {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThatThrownBy(() -> AuditQuery.run(url, "SELECT 1 AS a; SELECT 2 AS b", new PrintStream(out, true, UTF_8)))
                .isInstanceOf(SQLException.class)
                .hasMessage("--audit-query: one SQL statement only (it holds more than one)");
        assertThat(out.toString(UTF_8)).isEmpty();
    }

    @Test
    void aStatementWithoutRowsSaysSo() throws Exception {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(AuditQuery.run(url, "SET search_path TO public", new PrintStream(out, true, UTF_8))).isZero();
        assertThat(out.toString(UTF_8)).isEqualTo("(no rows: the statement returned no result set)" + System.lineSeparator());
    }

    @Test
    void aLongQueryTimesOut() {
        assertThatThrownBy(() -> AuditQuery.run(url, "SELECT pg_sleep(30)",
                new PrintStream(new ByteArrayOutputStream(), true, UTF_8), 1))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("statement timeout");
    }
}
