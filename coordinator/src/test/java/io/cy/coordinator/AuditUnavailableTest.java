package io.cy.coordinator;

import static io.cy.coordinator.AuditSetup.metric;
import static io.cy.coordinator.AuditSetup.metrics;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The database unreachable (connections refused) and the spool at its smallest cap (64 KiB):
 * {@code fail_closed} refuses calls rather than serve them unaudited, {@code fail_open} keeps
 * serving and counts what it drops, and Health says so.
 */
class AuditUnavailableTest {

    /** Enough calls to fill the spool many times over: a bound, never reached when all is well. */
    static final int MAX_CALLS = 400;

    @TempDir
    Path dir;

    AuditSetup.UnreachableDatabase database;

    @BeforeEach
    void holdAPortNothingListensOn() throws Exception {
        database = new AuditSetup.UnreachableDatabase();
    }

    @AfterEach
    void releaseIt() throws Exception {
        database.close();
    }

    /**
     * A coordinator whose database is away, with a 64 KiB spool; prompts are kept in full, so that
     * a few dozen calls of {@link #request} fill it.
     */
    TestStack start(String onUnavailable) throws Exception {
        return TestStack.start(dir, 1, sim -> { }, HealthAndControlTest.ONE_PROBE,
                AuditSetup.env(database.dbUrl(), dir.resolve("spool"), Map.of(
                        "CY_AUDIT_ON_UNAVAILABLE", onUnavailable,
                        "CY_AUDIT_SPOOL_MAX_BYTES", "65536",
                        "CY_AUDIT_STORE_PROMPTS", "full",
                        "CY_AUDIT_CONNECT_TIMEOUT", "1s")));
    }

    /** A short call with a 2 KiB prompt. */
    static StreamPredictRequest request() {
        return TestStack.request(1).toBuilder().setPrompt("x".repeat(2048)).build();
    }

    @Test
    void failClosedRefusesCallsOnceTheSpoolIsFullAndTheSidecarSeesNone() throws Exception {
        try (TestStack stack = start("fail_closed")) {
            final ManagedChannel channel = stack.coordinatorChannel();

            // when: calls until one is refused
            Result refused = null;
            int served = 0;
            while (refused == null && served < MAX_CALLS) {
                final Result result = TestStack.call(channel, request());
                if (result.status().isOk()) {
                    served++;
                } else {
                    refused = result;
                }
            }

            // then: refused as the audit log's, after the spool took what it could
            assertThat(refused).as("a refusal within %d calls", MAX_CALLS).isNotNull();
            assertRefusedByTheAuditLog(refused.status());
            assertThat(served).as("calls served before the spool was full").isPositive();
            final long sidecarCalls = stack.sim().stats().callsStarted();
            assertThat(sidecarCalls).isEqualTo(served);
            // and go on being refused, without reaching the sidecar
            for (int i = 0; i < 3; i++) {
                assertRefusedByTheAuditLog(TestStack.call(channel, request()).status());
            }
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(sidecarCalls);
            final Map<String, String> metrics = metrics(channel);
            assertThat(metrics).containsEntry("audit_db", "down").containsEntry("audit_dropped", "0");
            assertThat(Long.parseLong(metrics.get("audit_spool_bytes"))).isPositive().isLessThanOrEqualTo(65536);
        }
    }

    @Test
    void failOpenKeepsServingAndCountsWhatItDrops() throws Exception {
        try (TestStack stack = start("fail_open")) {
            final ManagedChannel channel = stack.coordinatorChannel();

            // when: calls until Health reports dropped events
            int served = 0;
            while (metric(channel, "audit_dropped") == 0 && served < MAX_CALLS) {
                final Result result = TestStack.call(channel, request());
                assertThat(result.status().getCode()).as("%s", result.status()).isEqualTo(Status.Code.OK);
                served++;
            }

            // then: events were dropped, and calls are still served
            assertThat(metric(channel, "audit_dropped")).as("audit_dropped after %d calls", served).isPositive();
            final long sidecarCalls = stack.sim().stats().callsStarted();
            for (int i = 0; i < 3; i++) {
                assertThat(TestStack.call(channel, request()).status().getCode()).isEqualTo(Status.Code.OK);
            }
            assertThat(stack.sim().stats().callsStarted()).isEqualTo(sidecarCalls + 3);
            assertThat(metrics(channel)).containsEntry("audit_db", "down");
            assertThat(metric(channel, "audit_spool_bytes")).isPositive().isLessThanOrEqualTo(65536);
        }
    }

    @Test
    void healthReportsTheDatabaseDownAndWhatIsSpooled() throws Exception {
        try (TestStack stack = TestStack.start(dir, 1, sim -> { }, HealthAndControlTest.ONE_PROBE,
                AuditSetup.env(database.dbUrl(), dir.resolve("spool"), Map.of()))) {
            final ManagedChannel channel = stack.coordinatorChannel();

            assertThat(TestStack.call(channel, TestStack.request(2)).status().getCode()).isEqualTo(Status.Code.OK);

            Eventually.await("the call's event in the spool, none left in the queue", AuditTable.ARRIVAL,
                    () -> metric(channel, "audit_spool_bytes") > 0 && metric(channel, "audit_queue") == 0);
            assertThat(metrics(channel))
                    .containsEntry("audit_db", "down")
                    .containsEntry("audit_queue", "0")
                    .containsEntry("audit_dropped", "0");
        }
    }

    private static void assertRefusedByTheAuditLog(Status status) {
        assertThat(status.getCode()).as("%s", status).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(status.getDescription()).isEqualTo("audit log unavailable");
    }
}
