package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.cy.audit.TestDatabase;
import io.cy.coordinator.AuditTable.Row;
import io.cy.coordinator.service.AccessLog;
import io.cy.coordinator.service.CallSummary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Callers on the Unix socket in processes of their own, under group ids the test chooses with
 * {@code setpriv}: the kernel, not the client, says who they are. Only the gid changes (uid 0
 * stays, so that the client can read the build's class path under /root); peers are therefore
 * listed by gid and named {@code uds:uid=0}. Needs root and util-linux's setpriv, as CI has.
 */
class UnixPeerProcessTest {

    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    private static final int LISTED_GID = 4242;
    private static final int UNLISTED_GID = 4343;

    @TempDir
    static Path dir;

    static TestDatabase.Db db;
    static TestStack stack;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(UnixPeerAuthTest.uid() == 0, "needs root, to run clients under other group ids");
        assumeTrue(Files.isExecutable(SETPRIV), "needs " + SETPRIV + " (util-linux), to run clients under other group ids");
        db = TestDatabase.newDatabase();
        stack = TestStack.start(dir, 1, sim -> { }, """
                auth:
                  api_keys:
                    - {name: ci-key, sha256: "%s", tenant: keyed, roles: [user]}
                  unix_peers:
                    - {gid: %d, tenant: peers, roles: [user]}
                sidecars: {health: {interval: 1h, timeout: 1s}}
                """.formatted(UnixPeerAuthTest.sha256Hex(UnixPeerAuthTest.API_KEY), LISTED_GID),
                AuditSetup.env(db.dbUrl(), dir.resolve("spool"), Map.of(
                        "CY_AUTH_MODE", "required",
                        "COORDINATOR_UDS_PATH", socket().toString())));
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private static Path socket() {
        return dir.resolve("coordinator.sock");
    }

    @Test
    void aListedGidIsServedAsItsEntrysTenantAndAnUnlistedOneIsRefusedByUid() throws Exception {
        final String listed = callAs(LISTED_GID, "peer-listed");
        final String unlisted = callAs(UNLISTED_GID, "peer-unlisted");

        assertThat(listed).startsWith("status=OK chunks=2 ");
        assertThat(unlisted).startsWith("status=UNAUTHENTICATED chunks=0 ")
                .contains("uid=0 (gid " + UNLISTED_GID + ") matches no auth.unix_peers entry");

        final CallSummary summary = summaryOf("peer-listed");
        assertThat(summary.identity().subject()).isEqualTo("uds:uid=0");
        assertThat(summary.tenant()).isEqualTo("peers");
        assertThat(accessLogLine(summary)).contains(" tenant=peers subject=\"uds:uid=0\"");

        final Row served = AuditTable.awaitRow(db, "the listed peer's call", r -> "peer-listed".equals(r.traceId()));
        assertThat(served.statusCode()).isEqualTo("OK");
        assertThat(served.subject()).isEqualTo("uds:uid=0");
        assertThat(served.tenant()).isEqualTo("peers");
        assertThat(served.credentialKind()).isEqualTo("unix_peer");
        assertThat(served.keyId()).isEqualTo("gid=" + LISTED_GID);
        final Row refused = AuditTable.awaitRow(db, "the unlisted peer's call", r -> "peer-unlisted".equals(r.traceId()));
        assertThat(refused.kind()).isEqualTo("rejected");
        assertThat(refused.statusCode()).isEqualTo("UNAUTHENTICATED");
        assertThat(refused.statusDescription()).contains("uid=0");
    }

    @Test
    void aBearerTokenWinsForAnUnlistedPeer() throws Exception {
        assertThat(callAs(UNLISTED_GID, "peer-with-token", UnixPeerAuthTest.API_KEY)).startsWith("status=OK chunks=2 ");

        final Row row = AuditTable.awaitRow(db, "the call with a token", r -> "peer-with-token".equals(r.traceId()));
        assertThat(row.tenant()).isEqualTo("keyed");
        assertThat(row.credentialKind()).isEqualTo("api_key");
        assertThat(row.subject()).isEqualTo("ci-key");
    }

    /** The summary of the call with {@code traceId}, waiting for it to end. */
    private static CallSummary summaryOf(String traceId) throws InterruptedException {
        CallSummary next;
        while ((next = stack.summaries.poll(TestStack.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) != null) {
            if (next.traceId().equals(traceId)) {
                return next;
            }
        }
        throw new AssertionError("no call with trace id " + traceId + " ended");
    }

    /** Runs {@link UnixPeerClient} under {@code gid} (uid unchanged, no supplementary groups); its outcome line. */
    private static String callAs(int gid, String traceId, String... token) throws Exception {
        final List<String> command = new ArrayList<>(List.of(SETPRIV.toString(), "--regid=" + gid, "--clear-groups",
                "--", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), UnixPeerClient.class.getName(),
                socket().toString(), traceId));
        command.addAll(List.of(token));
        final Path output = dir.resolve(traceId + ".out");
        final Process client = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(output.toFile()).start();
        if (!client.waitFor(60, TimeUnit.SECONDS)) {
            client.destroyForcibly();
            throw new AssertionError("the client under gid " + gid + " did not finish within 60 s:\n" + read(output));
        }
        final String text = read(output);
        assertThat(client.exitValue()).as("the client's exit status; its output:%n%s", text).isZero();
        return text.lines().filter(line -> line.startsWith("status=")).findFirst()
                .orElseThrow(() -> new AssertionError("no outcome from the client under gid " + gid + ":\n" + text));
    }

    private static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8);
    }

    /** The line the access log writes for {@code summary}, as the coordinator's Main wires it. */
    private static String accessLogLine(CallSummary summary) {
        final Logger access = (Logger) LoggerFactory.getLogger("cy.access");
        final ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.setContext(access.getLoggerContext());
        lines.start();
        access.addAppender(lines);
        try {
            new AccessLog().onCallEnd(summary);
        } finally {
            access.detachAppender(lines);
        }
        assertThat(lines.list).hasSize(1);
        return lines.list.get(0).getFormattedMessage();
    }
}
