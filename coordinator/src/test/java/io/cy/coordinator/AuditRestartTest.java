package io.cy.coordinator;

import static io.cy.coordinator.AuditSetup.metric;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.audit.TestDatabase;
import io.cy.coordinator.AuditTable.Row;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Events spooled while the database was away reach it once, after a restart on the same spool. */
class AuditRestartTest {

    @TempDir
    Path dir;

    @Test
    void eventsSpooledBeforeARestartArriveExactlyOnce() throws Exception {
        final TestDatabase.Db db = TestDatabase.newDatabase();
        final Path spool = dir.resolve("spool");
        final Path firstDir = Files.createDirectories(dir.resolve("first"));
        final Path secondDir = Files.createDirectories(dir.resolve("second"));

        // given: a coordinator that cannot reach its database spools every call's event
        final List<String> traceIds = new ArrayList<>();
        try (AuditSetup.UnreachableDatabase away = new AuditSetup.UnreachableDatabase();
                TestStack first = TestStack.start(firstDir, 1, sim -> { }, HealthAndControlTest.ONE_PROBE,
                        AuditSetup.env(away.dbUrl(), spool, Map.of()))) {
            final ManagedChannel channel = first.coordinatorChannel();
            for (int i = 1; i <= 5; i++) {
                final String traceId = "restart-" + i;
                assertThat(TestStack.call(channel, request(traceId, 2)).status().getCode()).isEqualTo(Status.Code.OK);
                traceIds.add(traceId);
            }
            assertThat(TestStack.call(channel, request("restart-invalid", 100_000)).status().getCode())
                    .isEqualTo(Status.Code.INVALID_ARGUMENT);
            traceIds.add("restart-invalid");
            HealthAndControlTest.control(channel, "restart-ping", "ping", Map.of("note", "before restart"),
                    new Metadata());
            traceIds.add("restart-ping");
            Eventually.await("events in the spool", AuditTable.ARRIVAL, () -> metric(channel, "audit_spool_bytes") > 0);
        }
        final int events = 7;
        assertThat(AuditTable.count(db)).as("nothing reached the database yet").isZero();

        // when: a new coordinator starts on the same spool, with the database
        try (TestStack second = TestStack.start(secondDir, 1, sim -> { }, HealthAndControlTest.ONE_PROBE,
                AuditSetup.env(db.dbUrl(), spool, Map.of()))) {
            final ManagedChannel channel = second.coordinatorChannel();

            // then: the spooled events arrive, once each, and the spool empties
            final List<Row> rows = AuditTable.awaitRows(db, events);
            assertThat(rows).as("rows:%n%s", AuditTable.describe(rows)).hasSize(events);
            assertThat(AuditTable.distinctEventIds(db)).isEqualTo(events);
            assertThat(rows).extracting(Row::traceId).containsExactlyInAnyOrderElementsOf(traceIds);
            assertThat(rows).extracting(Row::kind).containsOnly("call", "rejected", "control");
            assertThat(rows).filteredOn(r -> "rejected".equals(r.kind())).singleElement()
                    .satisfies(r -> assertThat(r.statusCode()).isEqualTo("INVALID_ARGUMENT"));
            assertThat(rows).filteredOn(r -> "control".equals(r.kind())).singleElement()
                    .satisfies(r -> assertThat(r.payload()).containsEntry("note", "before restart"));
            Eventually.await("the spool replayed", AuditTable.ARRIVAL,
                    () -> metric(channel, "audit_spool_bytes") == 0);
            assertThat(AuditSetup.metrics(channel)).containsEntry("audit_db", "up");
        }

        // and: stopping the second coordinator writes none of them again
        assertThat(AuditTable.count(db)).isEqualTo(events);
        assertThat(AuditTable.distinctEventIds(db)).isEqualTo(events);
    }

    private static StreamPredictRequest request(String traceId, int maxNewTokens) {
        final StreamPredictRequest r = TestStack.request(maxNewTokens);
        return r.toBuilder().setMetadata(r.getMetadata().toBuilder().setTraceId(traceId)).build();
    }
}
