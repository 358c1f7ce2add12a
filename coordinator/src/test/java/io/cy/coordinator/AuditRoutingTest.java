package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.audit.TestDatabase;
import io.cy.coordinator.AuditTable.Row;
import io.cy.llm.proto.ControlMessage;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit rows of routing: a call's alias and backend, and a route change with who made it and both versions. */
class AuditRoutingTest {

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    static Path dir;

    static TestDatabase.Db db;
    static TestStack stack;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        db = TestDatabase.newDatabase();
        stack = TestStack.start(dir, 1, sim -> sim.models(List.of("m1")), """
                backends:
                  - {id: gpu-a, addresses: ["unix://%s/sidecar-0.sock"], models: [{id: m1}]}
                routes:
                  aliases:
                    default: {backend: gpu-a, model: m1}
                    fast: {backend: gpu-a, model: m1}
                sidecars: {health: {interval: 1h, timeout: 1s}}
                """.formatted(dir), AuditSetup.env(db.dbUrl(), dir.resolve("spool"), Map.of(
                "CY_AUTH_MODE", "required",
                "CY_AUTH_HMAC_SECRET", AuditCallsTest.SECRET)));
        channel = stack.coordinatorChannel();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private static Metadata bearer(String subject, String tenant, String role) {
        final Metadata headers = new Metadata();
        headers.put(AUTHORIZATION, "Bearer " + AuditCallsTest.token(subject, tenant, List.of(role)));
        return headers;
    }

    @Test
    void aCallKeepsItsAliasAndBackendAndARouteChangeWhoMadeItAndBothVersions() throws Exception {
        final TestStack.Result call = TestStack.call(channel, AuditCallsTest.request("audit-routed", 2, Map.of())
                .toBuilder().setModelId("fast").build(), bearer("svc-user", "acme", "user"), null);
        assertThat(call.status().getCode()).isEqualTo(Status.Code.OK);

        final ControlMessage set = HealthAndControlTest.control(channel, "audit-routes-set", "routes_set",
                Map.of("routes", "{\"aliases\": {\"default\": {\"backend\": \"gpu-a\", \"model\": \"m1\"}}}"),
                bearer("ops-admin", "ops", "admin"));
        assertThat(set.getPayloadMap()).containsEntry("status", "ok").containsEntry("version", "2");

        AuditTable.awaitRow(db, "the routed call", r -> "audit-routed".equals(r.traceId()));
        final Row change = AuditTable.awaitRow(db, "routes_set", r -> "audit-routes-set".equals(r.traceId()));
        assertThat(change.command()).isEqualTo("routes_set");
        assertThat(change.subject()).isEqualTo("ops-admin");
        assertThat(change.payload()).containsEntry("old_version", "1").containsEntry("new_version", "2")
                .containsKey("routes");
        try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement(
                "SELECT alias, backend, model FROM cy_audit.audit_event WHERE trace_id = 'audit-routed'");
             ResultSet rs = ps.executeQuery()) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("fast");
            assertThat(rs.getString(2)).isEqualTo("gpu-a");
            assertThat(rs.getString(3)).isEqualTo("m1");
        }
    }
}
