package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.audit.DbUrl;
import io.cy.audit.EmbeddedAuditDatabase;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.sim.SimConfig;
import io.cy.sim.SimulatedSidecar;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator's process killed with SIGKILL under calls loses no audit event of a call that
 * ended more than {@code audit.max_unwritten} before the kill, whatever its PostgreSQL was doing:
 * refusing connections after a fast shutdown (while the coordinator was idle, or in the middle of
 * its inserts), hanging (the postmaster and its backends stopped with SIGSTOP), or answering. After a restart on the same spool, each such call has exactly one
 * row. The PostgreSQL is one of the test's own, so that stopping it disturbs nothing else.
 */
class AuditKillTest {

    /** The default, and what the killed coordinator is given. */
    private static final Duration MAX_UNWRITTEN = Duration.ofSeconds(1);
    private static final Duration STARTUP = Duration.ofSeconds(60);
    /** How long calls go on with the database away before the kill: a second or more of them must survive. */
    private static final Duration OUTAGE = Duration.ofMillis(2_500);
    private static final int CLIENTS = 2;
    /** Between a client's calls: a steady load that leaves the two cores room for the writers. */
    private static final long PACING_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    @TempDir
    static Path shared;

    private static Postgres postgres;

    @TempDir
    Path dir;

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @BeforeAll
    static void startDatabase() throws IOException {
        postgres = new Postgres(shared.resolve("pg"));
    }

    @AfterAll
    static void stopDatabase() throws IOException {
        if (postgres != null) {
            postgres.close();
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
        // A test that failed half-way leaves the database running for the next.
        postgres.resume();
        postgres.ensureRunning();
    }

    @Test
    void aKillDuringARefusedConnectionOutageLosesNoEventOlderThanMaxUnwritten() throws Exception {
        // given: a coordinator that has written calls to its audit database, and is idle
        final KilledCoordinator coordinator = startCoordinator();
        final Load before = coordinator.load("refused-before");
        before.runFor(Duration.ofMillis(500));
        before.stop();
        Eventually.await("the first calls' rows", STARTUP,
                () -> postgres.rowsByTraceIdOrEmpty(before.prefix).size() == before.ended.size());

        // when: the database shuts down (pg_ctl stop -m fast: sessions ended, connections refused),
        // calls come, and the coordinator is killed a while later
        postgres.stopFast();
        final long outageStart = System.nanoTime();
        final Load load = coordinator.load("refused");
        load.runFor(OUTAGE);
        final long killedAt = coordinator.kill();
        load.stop();

        // then: after a restart with the database back, every call that ended long enough before has one row
        postgres.ensureRunning();
        restartAndAwaitSpoolWritten();
        assertEveryCallEndedBeforeTheWindowHasOneRow(load, killedAt, outageStart, coordinator);
        assertThat(postgres.rowsByTraceId(before.prefix)).hasSize(before.ended.size()).containsOnlyKeys(
                before.ended.stream().map(Load.Ended::traceId).toList());
    }

    @Test
    void aKillAfterTheDatabaseDroppedConnectionsInTheMiddleOfBatchesLosesNoEventOlderThanMaxUnwritten()
            throws Exception {
        // given: a coordinator writing its audit log to a database that is up, under load
        final KilledCoordinator coordinator = startCoordinator();
        final Load load = coordinator.load("dropped");
        load.runFor(Duration.ofMillis(700));

        // when: the database ends its sessions under the inserts and refuses new connections, and
        // the coordinator is killed a while later
        final long outageStart = System.nanoTime();
        postgres.stopFast();
        load.runFor(OUTAGE);
        final long killedAt = coordinator.kill();
        load.stop();

        // then: after a restart with the database back, every call that ended long enough before has one row
        postgres.ensureRunning();
        restartAndAwaitSpoolWritten();
        assertEveryCallEndedBeforeTheWindowHasOneRow(load, killedAt, outageStart, coordinator);
    }

    @Test
    void aKillWhileTheDatabaseHangsLosesNoEventOlderThanMaxUnwritten() throws Exception {
        // given: a coordinator writing its audit log to a database that is up, under load
        final KilledCoordinator coordinator = startCoordinator();
        final Load load = coordinator.load("hung");
        load.runFor(Duration.ofMillis(700));

        // when: the database hangs (postmaster and backends stopped: connections accepted by the
        // kernel, queries unanswered) and the coordinator is killed a while later
        final long outageStart = System.nanoTime();
        postgres.suspend();
        load.runFor(OUTAGE);
        final long killedAt = coordinator.kill();
        load.stop();

        // then: once the database answers again, a restarted coordinator writes every call that ended long enough before
        postgres.resume();
        restartAndAwaitSpoolWritten();
        assertEveryCallEndedBeforeTheWindowHasOneRow(load, killedAt, outageStart, coordinator);
    }

    @Test
    void aKillUnderSteadyLoadWithTheDatabaseUpLosesNoEventOlderThanMaxUnwritten() throws Exception {
        // given: a coordinator writing its audit log to a database that is up, under load
        final KilledCoordinator coordinator = startCoordinator();
        final Load load = coordinator.load("steady");
        final long loadStart = System.nanoTime();
        load.runFor(Duration.ofMillis(3_000));

        // when: it is killed in the middle of it
        final long killedAt = coordinator.kill();
        load.stop();

        // then: after a restart, every call that ended long enough before the kill has one row
        restartAndAwaitSpoolWritten();
        assertEveryCallEndedBeforeTheWindowHasOneRow(load, killedAt, loadStart, coordinator);
    }

    // --- helpers

    private Path spool() {
        return dir.resolve("spool");
    }

    private KilledCoordinator startCoordinator() throws Exception {
        final SimulatedSidecar sim = SimulatedSidecar.start(SimConfig.builder()
                .listen("unix://" + dir.resolve("sidecar.sock")).defaultMaxNewTokens(2).build());
        cleanup.add(sim::close);
        final KilledCoordinator coordinator = new KilledCoordinator(dir, sim.target(), postgres.url(), spool());
        cleanup.add(coordinator);
        coordinator.awaitAuditDatabaseUp();
        return coordinator;
    }

    /** A coordinator of this JVM on the same spool, with the database back: it writes what the killed one left. */
    private void restartAndAwaitSpoolWritten() throws Exception {
        final Path restartDir = Files.createDirectories(dir.resolve("restart"));
        try (TestStack restarted = TestStack.start(restartDir, 1, sim -> { }, "",
                AuditSetup.env(postgres.url(), spool(), Map.of()))) {
            final ManagedChannel channel = restarted.coordinatorChannel();
            Eventually.await("the spool written to the database", STARTUP,
                    () -> "up".equals(AuditSetup.metrics(channel).get("audit_db"))
                            && AuditSetup.metric(channel, "audit_spool_bytes") == 0);
        }
    }

    private static void assertEveryCallEndedBeforeTheWindowHasOneRow(Load load, long killedAt, long from,
                                                                     KilledCoordinator coordinator)
            throws SQLException {
        final Map<String, Long> rows = postgres.rowsByTraceId(load.prefix);
        final List<Load.Ended> due = load.ended.stream()
                .filter(c -> killedAt - c.endNanos() > MAX_UNWRITTEN.toNanos())
                .toList();
        final long dueFromOutage = due.stream().filter(c -> c.endNanos() > from).count();
        assertThat(dueFromOutage).as("calls that ended after %s began and more than %s before the kill "
                + "(the coordinator's log: %s)", load.prefix, MAX_UNWRITTEN, coordinator.logFile).isGreaterThan(20);
        final List<String> wrong = due.stream()
                .filter(c -> rows.getOrDefault(c.traceId(), 0L) != 1)
                .map(c -> c.traceId() + " (ended " + (killedAt - c.endNanos()) / 1_000_000 + " ms before the kill): "
                        + rows.getOrDefault(c.traceId(), 0L) + " rows")
                .toList();
        assertThat(wrong).as("%d calls ended more than %s before the kill, %d of them after the %s began; "
                        + "the coordinator's log: %s", due.size(), MAX_UNWRITTEN, dueFromOutage, load.prefix,
                coordinator.logFile).isEmpty();
        assertThat(rows.entrySet()).as("no call has two rows").allSatisfy(e -> assertThat(e.getValue()).isEqualTo(1));
    }

    /** The coordinator as its own process (Main), to be killed with SIGKILL; clients for it. */
    private static final class KilledCoordinator implements AutoCloseable {

        final Path logFile;
        private final Process process;
        private final NettyTransport transport = NettyTransport.create(1, "kill-test-client");
        private final ManagedChannel channel;

        KilledCoordinator(Path dir, String sidecar, String dbUrl, Path spool) throws IOException {
            final Path socket = dir.resolve("coordinator.sock");
            this.logFile = dir.resolve("coordinator.log");
            final ProcessBuilder builder = new ProcessBuilder(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                    "-cp", System.getProperty("java.class.path"), Main.class.getName())
                    .redirectErrorStream(true)
                    .redirectOutput(logFile.toFile());
            final Map<String, String> env = builder.environment();
            env.keySet().removeIf(name -> name.startsWith("CY_") || name.startsWith("COORDINATOR_")
                    || name.startsWith("WORKER_") || name.equals("DB_URL") || name.startsWith("OAUTH2_"));
            env.putAll(Map.of(
                    "SIDECAR_GRPC_ADDR", sidecar,
                    "COORDINATOR_GRPC_ADDR", "127.0.0.1:0",
                    "COORDINATOR_HTTP_ADDR", "127.0.0.1:0",
                    "COORDINATOR_UDS_PATH", socket.toString(),
                    "CY_AUTH_MODE", "none",
                    "CY_LOG_ACCESS", "false",
                    "CY_AUDIT_ENABLED", "true",
                    "DB_URL", dbUrl,
                    "CY_AUDIT_SPOOL_DIR", spool.toString(),
                    "CY_AUDIT_MAX_UNWRITTEN", "1s"));
            this.process = builder.start();
            this.channel = transport.channelBuilder(Endpoint.unix(socket)).overrideAuthority("localhost").build();
        }

        void awaitAuditDatabaseUp() throws InterruptedException {
            Eventually.await("the coordinator up, its audit database reachable (log: " + logFile + ")", STARTUP, () -> {
                if (!process.isAlive()) {
                    throw new AssertionError("the coordinator exited with " + process.exitValue() + "; log: " + logFile);
                }
                try {
                    return "up".equals(AuditSetup.metrics(channel).get("audit_db"));
                } catch (RuntimeException e) {
                    return false;
                }
            });
        }

        Load load(String prefix) {
            return new Load(channel, prefix);
        }

        /** SIGKILL; returns the time just before it was sent. */
        long kill() throws InterruptedException {
            final long at = System.nanoTime();
            process.destroyForcibly();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("killed coordinator exited").isTrue();
            return at;
        }

        @Override
        public void close() throws InterruptedException {
            channel.shutdownNow();
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
            transport.close();
        }
    }

    /** Clients calling StreamPredict one call after another, each with a trace id of its own; when each call ended. */
    private static final class Load {

        record Ended(String traceId, long endNanos) {}

        final String prefix;
        final ConcurrentLinkedQueue<Ended> ended = new ConcurrentLinkedQueue<>();
        private final ManagedChannel channel;
        private final List<Thread> clients = new ArrayList<>();
        private volatile boolean stopping;

        Load(ManagedChannel channel, String prefix) {
            this.channel = channel;
            this.prefix = prefix;
        }

        /** Starts the clients if they are not running, and returns after {@code duration}. */
        void runFor(Duration duration) throws InterruptedException {
            if (clients.isEmpty()) {
                for (int c = 0; c < CLIENTS; c++) {
                    final int client = c;
                    final Thread t = new Thread(() -> callUntilStopped(client), "kill-test-load-" + c);
                    t.setDaemon(true);
                    clients.add(t);
                    t.start();
                }
            }
            // The load runs meanwhile: this is the time it runs for, not a wait for something.
            Thread.sleep(duration.toMillis());
        }

        void stop() throws InterruptedException {
            stopping = true;
            for (Thread t : clients) {
                t.join(TimeUnit.SECONDS.toMillis(30));
            }
        }

        private void callUntilStopped(int client) {
            for (int i = 0; !stopping; i++) {
                final String traceId = prefix + "-" + client + "-" + i;
                final StreamPredictRequest r = TestStack.request(2);
                try {
                    final TestStack.Result result = TestStack.call(channel,
                            r.toBuilder().setMetadata(r.getMetadata().toBuilder().setTraceId(traceId)).build());
                    if (result.status().isOk()) {
                        ended.add(new Ended(traceId, System.nanoTime()));
                    }
                } catch (Exception e) {
                    // Timed out: the call never ended.
                }
                LockSupport.parkNanos(PACING_NANOS);
            }
        }
    }

    /** The test's own PostgreSQL (the embedded one): stopped, hung and resumed at will. */
    private static final class Postgres implements AutoCloseable {

        private final Path dir;
        private EmbeddedAuditDatabase server;
        private final List<Long> suspended = new ArrayList<>();

        Postgres(Path dir) throws IOException {
            this.dir = dir;
            this.server = EmbeddedAuditDatabase.start(dir);
        }

        String url() {
            return server.url();
        }

        /** As {@code pg_ctl stop -m fast}: SIGINT to the postmaster, which ends the sessions and exits. */
        void stopFast() throws IOException, InterruptedException {
            final ProcessHandle postmaster = postmaster();
            signal("INT", List.of(postmaster.pid()));
            Eventually.await("PostgreSQL stopped", STARTUP, () -> !postmaster.isAlive());
        }

        /** SIGSTOP to the postmaster, then to all its children (the backends and workers). */
        void suspend() throws IOException, InterruptedException {
            final ProcessHandle postmaster = postmaster();
            signal("STOP", List.of(postmaster.pid()));
            suspended.add(postmaster.pid());
            final List<Long> children = postmaster.descendants().map(ProcessHandle::pid).toList();
            signal("STOP", children);
            suspended.addAll(children);
        }

        /** SIGCONT to what {@link #suspend} stopped; those that exited meanwhile are skipped. */
        void resume() throws IOException, InterruptedException {
            final List<Long> alive = suspended.stream().filter(pid -> ProcessHandle.of(pid).isPresent()).toList();
            suspended.clear();
            signal("CONT", alive);
        }

        /** Started again on the same cluster if it was stopped; a new port then. */
        void ensureRunning() throws IOException {
            if (postmasterIfRunning() == null) {
                server.close();
                server = EmbeddedAuditDatabase.start(dir);
            }
        }

        /** As {@link #rowsByTraceId}, empty while the table is not there or the database does not answer. */
        Map<String, Long> rowsByTraceIdOrEmpty(String prefix) {
            try {
                return rowsByTraceId(prefix);
            } catch (SQLException e) {
                return Map.of();
            }
        }

        Map<String, Long> rowsByTraceId(String prefix) throws SQLException {
            final DbUrl db = DbUrl.parse(url());
            final Map<String, Long> rows = new HashMap<>();
            try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                    PreparedStatement ps = c.prepareStatement("SELECT trace_id, count(*) FROM cy_audit.audit_event "
                            + "WHERE trace_id LIKE ? GROUP BY trace_id")) {
                ps.setString(1, prefix + "-%");
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows.put(rs.getString(1), rs.getLong(2));
                    }
                }
            }
            return rows;
        }

        @Override
        public void close() throws IOException {
            try {
                resume();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            server.close();
        }

        private ProcessHandle postmaster() throws IOException {
            final ProcessHandle p = postmasterIfRunning();
            if (p == null) {
                throw new IllegalStateException("no PostgreSQL running in " + dir);
            }
            return p;
        }

        private ProcessHandle postmasterIfRunning() throws IOException {
            final Path pidFile = dir.resolve("pgdata").resolve("postmaster.pid");
            if (!Files.exists(pidFile)) {
                return null;
            }
            final long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).orElse(null);
        }

        private static void signal(String signal, List<Long> pids) throws IOException, InterruptedException {
            if (pids.isEmpty()) {
                return;
            }
            // bash's own kill: a minimal system may have no kill(1).
            final List<String> command = List.of("bash", "-c", "kill -" + signal + " "
                    + pids.stream().map(String::valueOf).collect(Collectors.joining(" ")));
            final Process kill = new ProcessBuilder(command).redirectErrorStream(true).start();
            final String output = new String(kill.getInputStream().readAllBytes());
            if (kill.waitFor() != 0) {
                throw new IOException(String.join(" ", command) + " failed: " + output);
            }
        }
    }
}
