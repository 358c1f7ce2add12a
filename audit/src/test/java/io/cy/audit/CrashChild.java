package io.cy.audit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A separate JVM that records events with the database unreachable, says so once they are all in
 * the spool, and waits to be killed: the crash half of the crash test.
 */
public final class CrashChild {

    static final String SPOOLED = "SPOOLED";
    private static final String[] TENANTS = {"acme", "globex", "initech"};

    private CrashChild() {}

    public static void main(String[] args) throws Exception {
        final Path spoolDir = Path.of(args[0]);
        final int count = Integer.parseInt(args[1]);
        final int deadPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            deadPort = s.getLocalPort();
        }
        final PostgresAuditLog log = PostgresAuditLog.start(AuditConfig.builder(spoolDir)
                .dbUrl(DbUrl.parse("postgresql://nobody@127.0.0.1:" + deadPort + "/none"))
                .batchInterval(Duration.ofMillis(20))
                .connectTimeout(Duration.ofMillis(250))
                .build());
        final Instant base = Instant.parse("2026-11-01T00:00:00Z");
        for (int i = 0; i < count; i++) {
            log.record(AuditEvent.builder(AuditEvent.Kind.CALL).eventId(id(i)).endTime(base.plusMillis(i))
                    .tenant(TENANTS[i % TENANTS.length]).method("StreamPredict").status("OK", "").build());
        }
        while (log.batcher().spooled() < count) {
            Thread.sleep(5);
        }
        System.out.println(SPOOLED);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    static UUID id(int i) {
        return new UUID(0x0000_0000_0000_7000L, 0x8000_0000_0000_0000L | i);
    }

    static Set<UUID> ids(int count) {
        final Set<UUID> ids = new HashSet<>();
        for (int i = 0; i < count; i++) {
            ids.add(id(i));
        }
        return ids;
    }

    static Process spawn(Path spoolDir, int count) throws IOException {
        final String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(List.of(java, "-cp", classpath, CrashChild.class.getName(), spoolDir.toString(),
                Integer.toString(count)))
                .redirectErrorStream(true)
                .start();
    }

    /** Returns once the child says every event is spooled; its other output is echoed. */
    static void awaitSpooled(Process child, Duration timeout) throws Exception {
        final CompletableFuture<Boolean> seen = CompletableFuture.supplyAsync(() -> {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.equals(SPOOLED)) {
                        return true;
                    }
                    System.out.println("child: " + line);
                }
                return false;
            } catch (IOException e) {
                return false;
            }
        });
        if (!seen.get(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the child exited before spooling its events");
        }
    }
}
