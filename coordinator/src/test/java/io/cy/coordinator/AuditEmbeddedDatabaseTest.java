package io.cy.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import io.cy.audit.DbUrl;
import io.cy.audit.TestDatabase;
import io.cy.coordinator.audit.AuditQuery;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Without DB_URL, {@code audit.embedded_database_dir} gives the coordinator a PostgreSQL of its
 * own: calls become rows there, and the rows outlive the coordinator.
 */
class AuditEmbeddedDatabaseTest {

    private static final Pattern LOGGED_URL = Pattern.compile("embedded PostgreSQL at (postgresql://\\S+)");

    @TempDir
    Path dir;

    @Test
    void aCallBecomesARowInTheEmbeddedDatabaseAndTheRowSurvivesARestart() throws Exception {
        final Path pg = dir.resolve("pg");

        // given: a coordinator with an embedded database and no DB_URL
        try (LogCapture log = LogCapture.start(Level.INFO);
                TestStack first = start("first", env(pg, Map.of()))) {
            final String url = loggedUrl(log);

            // when: a call
            assertThat(TestStack.call(first.coordinatorChannel(), request("embedded-1")).status().getCode())
                    .isEqualTo(Status.Code.OK);

            // then: its row is in the embedded database, and the log says how to look at it
            Eventually.await("the call's row", AuditTable.ARRIVAL, () -> rows(url, "embedded-1") == 1);
            assertThat(log.lines()).anySatisfy(line -> assertThat(line)
                    .contains("psql \"" + url + "\"", AuditQuery.FLAG + " --db-url " + url));
            assertThat(log.lines()).noneMatch(line -> line.contains("go to the spool"));
            final ByteArrayOutputStream printed = new ByteArrayOutputStream();
            AuditQuery.run(DbUrl.parse(url), AuditQuery.LATEST, new PrintStream(printed, true, UTF_8));
            assertThat(printed.toString(UTF_8)).contains("embedded-1", "StreamPredict", "(1 row)");
        }

        // when: a coordinator starts again on the same directory
        try (LogCapture log = LogCapture.start(Level.INFO);
                TestStack second = start("second", env(pg, Map.of()))) {
            final String url = loggedUrl(log);

            // then: the row is still there, and new calls join it
            assertThat(rows(url, "embedded-1")).isEqualTo(1);
            assertThat(TestStack.call(second.coordinatorChannel(), request("embedded-2")).status().getCode())
                    .isEqualTo(Status.Code.OK);
            Eventually.await("the second call's row", AuditTable.ARRIVAL, () -> rows(url, "embedded-2") == 1);
        }
    }

    @Test
    void dbUrlWinsOverTheEmbeddedDatabaseAndTheLogSaysSo() throws Exception {
        final TestDatabase.Db db = TestDatabase.newDatabase();
        final Path pg = dir.resolve("pg");

        try (LogCapture log = LogCapture.start(Level.INFO);
                TestStack stack = start("stack", env(pg, Map.of("DB_URL", db.dbUrl())))) {
            assertThat(TestStack.call(stack.coordinatorChannel(), request("to-db-url")).status().getCode())
                    .isEqualTo(Status.Code.OK);

            AuditTable.awaitRow(db, "the call", row -> "to-db-url".equals(row.traceId()));
            assertThat(log.lines()).anySatisfy(line -> assertThat(line).startsWith("WARN")
                    .contains("DB_URL (audit.db_url) is set, so audit.embedded_database_dir (" + pg + ") is ignored"));
            assertThat(pg).doesNotExist();
        }
    }

    @Test
    void anEmbeddedDatabaseThatCannotStartStopsStartupNamingTheSetting() throws Exception {
        final Path pg = Files.createDirectories(dir.resolve("pg"));
        Files.writeString(pg.resolve("pgdata"), "a file where the cluster belongs");

        assertThatThrownBy(() -> start("stack", env(pg, Map.of())).close())
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("audit.embedded_database_dir: " + pg.resolve("pgdata") + " is a file");
    }

    private TestStack start(String name, Map<String, String> env) throws IOException {
        final Path sockets = Files.createDirectories(dir.resolve(name));
        return TestStack.start(sockets, 1, sim -> { }, HealthAndControlTest.ONE_PROBE, env);
    }

    private Map<String, String> env(Path pg, Map<String, String> more) {
        final Map<String, String> env = new HashMap<>(Map.of(
                "CY_AUDIT_ENABLED", "true",
                "CY_AUDIT_EMBEDDED_DATABASE_DIR", pg.toString(),
                "CY_AUDIT_SPOOL_DIR", dir.resolve("spool").toString(),
                "CY_AUDIT_BATCH_INTERVAL", "50ms"));
        env.putAll(more);
        return env;
    }

    private static String loggedUrl(LogCapture log) {
        final List<String> lines = log.lines();
        for (String line : lines) {
            final Matcher m = LOGGED_URL.matcher(line);
            if (m.find()) {
                return m.group(1);
            }
        }
        throw new AssertionError("no 'embedded PostgreSQL at <url>' line among:\n" + String.join("\n", lines));
    }

    /** Rows of the trace; 0 also while the writer has not created the table yet. */
    private static long rows(String url, String traceId) {
        final DbUrl db = DbUrl.parse(url);
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM cy_audit.audit_event WHERE trace_id = ?")) {
            ps.setString(1, traceId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (SQLException e) {
            return 0;
        }
    }

    private static StreamPredictRequest request(String traceId) {
        final StreamPredictRequest r = TestStack.request(2);
        return r.toBuilder().setMetadata(r.getMetadata().toBuilder().setTraceId(traceId)).build();
    }
}
