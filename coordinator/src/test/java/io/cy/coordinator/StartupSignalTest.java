package io.cy.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A SIGTERM that reaches the coordinator's process while it starts, after its embedded
 * PostgreSQL is up, stops that server too: it runs as a process of its own and would otherwise
 * outlive the coordinator.
 */
class StartupSignalTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    @Test
    void aSignalDuringStartupStopsTheEmbeddedDatabase() throws Exception {
        final Path pg = dir.resolve("pg");
        final Path pidFile = pg.resolve("pgdata").resolve("postmaster.pid");
        final ProcessBuilder builder = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName())
                .redirectErrorStream(true);
        final Map<String, String> env = builder.environment();
        env.keySet().removeIf(name -> name.startsWith("CY_") || name.startsWith("COORDINATOR_")
                || name.equals("DB_URL") || name.startsWith("OAUTH2_"));
        env.putAll(Map.of(
                "SIDECAR_GRPC_ADDR", "unix://" + dir.resolve("no-sidecar.sock"),
                "COORDINATOR_GRPC_ADDR", "127.0.0.1:0",
                "COORDINATOR_HTTP_ADDR", "127.0.0.1:0",
                "CY_AUTH_MODE", "none",
                "CY_AUDIT_ENABLED", "true",
                "CY_AUDIT_EMBEDDED_DATABASE_DIR", pg.toString(),
                "CY_AUDIT_SPOOL_DIR", dir.resolve("spool").toString()));
        final Process coordinator = builder.start();
        final List<String> output = new CopyOnWriteArrayList<>();
        final CountDownLatch databaseUp = new CountDownLatch(1);
        final Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(coordinator.getInputStream(), UTF_8))) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    output.add(line);
                    if (line.contains("embedded PostgreSQL at")) {
                        databaseUp.countDown();
                    }
                }
            } catch (IOException e) {
                // The process is gone; what it printed is in output.
            } finally {
                databaseUp.countDown();
            }
        }, "coordinator-output");
        reader.start();
        long postgresPid = -1;
        try {
            // given: the embedded database is up and the coordinator is still starting (the audit
            // log's migrations and the listeners come after it)
            assertThat(databaseUp.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            assertThat(coordinator.isAlive()).as("coordinator still starting; output: %s", output).isTrue();
            postgresPid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());

            // when: SIGTERM (through the handle: Process.destroy() would also close the pipe the
            // coordinator logs to)
            coordinator.toHandle().destroy();

            // then: the coordinator stops its PostgreSQL, then exits
            assertThat(coordinator.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("coordinator exited").isTrue();
            reader.join(TIMEOUT.toMillis());
            assertThat(output).anySatisfy(line -> assertThat(line).contains("embedded PostgreSQL stopped"));
            assertThat(pidFile).as("output: %s", output).doesNotExist();
            final long pid = postgresPid;
            // pg_ctl returns once the server has removed its pid file, just before it exits.
            Eventually.await("PostgreSQL (pid " + pid + ") exits", TIMEOUT,
                    () -> ProcessHandle.of(pid).map(process -> !process.isAlive()).orElse(true));
        } finally {
            coordinator.destroyForcibly();
            if (postgresPid > 0) {
                // Only if the assertion above failed: leave no server behind.
                ProcessHandle.of(postgresPid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }
}
