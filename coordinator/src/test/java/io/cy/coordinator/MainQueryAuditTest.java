package io.cy.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.audit.DbUrl;
import io.cy.audit.TestDatabase;
import io.cy.coordinator.audit.AuditQuery;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cy-coordinator --audit-query}: its exit codes, and what it prints, never a password. */
class MainQueryAuditTest {

    private static final String SECRET = "s3cret-not-for-logs";

    /** A real PostgreSQL with an empty database: no audit table in it. */
    private static String dbUrl;

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeAll
    static void database() {
        dbUrl = TestDatabase.newDatabase().dbUrl();
    }

    @Test
    void noDatabaseIsABadConfiguration() {
        assertThat(query(null, Map.of(), null, AuditQuery.LATEST)).isEqualTo(2);

        assertThat(err()).isEqualTo("--audit-query: no audit database (expected: --db-url URL, or DB_URL set)\n");
        assertThat(out()).isEmpty();
    }

    @Test
    void aMissingConfigFileIsABadConfiguration() {
        final Path missing = dir.resolve("missing.yaml");

        assertThat(query(missing, Map.of(), null, AuditQuery.LATEST)).isEqualTo(2);

        assertThat(err()).isEqualTo("--audit-query: config file: " + missing + ": no such file\n");
    }

    @Test
    void aMalformedDbUrlFlagIsABadConfigurationAndItsPasswordIsNotPrinted() {
        // No '@host': the password is where the port would be.
        assertThat(query(null, Map.of(), "postgresql://cy:" + SECRET + "/cy_audit", AuditQuery.LATEST)).isEqualTo(2);

        assertThat(err()).startsWith("--audit-query: DB_URL: port is not a number (expected: 1-65535)")
                .doesNotContain(SECRET);
        assertThat(out()).isEmpty();
    }

    @Test
    void aMalformedDbUrlVariableIsABadConfigurationAndItsPasswordIsNotPrinted() {
        assertThat(query(null, Map.of("DB_URL", "mysql://cy:" + SECRET + "@db/cy_audit"), null, AuditQuery.LATEST))
                .isEqualTo(2);

        assertThat(err()).startsWith("--audit-query: DB_URL: unsupported scheme 'mysql' (expected: ")
                .doesNotContain(SECRET);
    }

    @Test
    void anUnreachableDatabaseIsAFailureAndTheUrlIsRedacted() throws Exception {
        try (AuditSetup.UnreachableDatabase db = new AuditSetup.UnreachableDatabase()) {
            final String url = db.dbUrl().replace(":not-used@", ":" + SECRET + "@");

            assertThat(query(null, Map.of(), url, AuditQuery.LATEST)).isEqualTo(1);

            assertThat(err()).startsWith("--audit-query: " + DbUrl.parse(url).redacted() + ": ")
                    .contains("password=***")
                    .doesNotContain(SECRET);
            assertThat(out()).isEmpty();
        }
    }

    @Test
    void aFailingQueryIsAFailure() {
        // The database is empty: the default query's table is not there.
        assertThat(query(null, Map.of("DB_URL", dbUrl), null, AuditQuery.LATEST)).isEqualTo(1);

        assertThat(err()).startsWith("--audit-query: " + DbUrl.parse(dbUrl).redacted() + ": ")
                .contains("cy_audit.audit_event");
        assertThat(out()).isEmpty();
    }

    @Test
    void theRowsOfTheDatabaseOfDbUrl() {
        assertThat(query(null, Map.of("DB_URL", dbUrl), null, "SELECT 1 AS n")).isEqualTo(0);

        assertThat(out().lines()).containsExactly(" n", "---", " 1", "(1 row)");
        assertThat(err()).isEmpty();
    }

    @Test
    void theDbUrlFlagWinsOverDbUrl() throws Exception {
        try (AuditSetup.UnreachableDatabase unreachable = new AuditSetup.UnreachableDatabase()) {
            assertThat(query(null, Map.of("DB_URL", unreachable.dbUrl()), dbUrl, "SELECT 'flag' AS source"))
                    .isEqualTo(0);

            assertThat(out().lines()).containsExactly(" source", "--------", " flag", "(1 row)");
        }
    }

    @Test
    void theDatabaseOfTheConfigFile() throws Exception {
        final Path config = Files.writeString(dir.resolve("cy.yaml"), "audit:\n  db_url: \"" + dbUrl + "\"\n");

        assertThat(query(config, Map.of(), null, "SELECT 'file' AS source")).isEqualTo(0);

        assertThat(out().lines()).containsExactly(" source", "--------", " file", "(1 row)");
    }

    private int query(Path configFile, Map<String, String> env, String dbUrlFlag, String sql) {
        return Main.queryAudit(configFile, env, dbUrlFlag, sql, new PrintStream(out, true, UTF_8),
                new PrintStream(err, true, UTF_8));
    }

    private String out() {
        return out.toString(UTF_8);
    }

    private String err() {
        return err.toString(UTF_8).replace(System.lineSeparator(), "\n");
    }
}
