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
}
