package io.cy.coordinator;

import static io.cy.coordinator.AuditTable.only;
import static io.cy.coordinator.AuthCalls.bearer;
import static io.cy.coordinator.AuthCalls.noCredential;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.audit.TestDatabase;
import io.cy.coordinator.AuditTable.Row;
import io.cy.coordinator.TestStack.Result;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.Status.Code;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Keys;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of call through an audited coordinator (authentication and quotas on, a real
 * PostgreSQL) becomes exactly one row, holding who called, what and how it ended, and never a
 * credential.
 */
class AuditCallsTest {

    static final String SECRET = "audit-calls-hmac-secret-1d3f5b7a9c0e2f4a6b8d0c2e4f6a8b0d";
    static final String API_KEY = "audit-calls-api-key-6e4c2a0b8d6f";
    static final Metadata.Key<String> TRACE_ID = Metadata.Key.of("trace-id", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    static Path dir;

    static TestDatabase.Db db;
    static TestStack stack;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        db = TestDatabase.newDatabase();
        stack = TestStack.start(dir, 1, sim -> { }, """
                auth:
                  api_keys:
                    - {name: ci-key, sha256: "%s", tenant: keyed, roles: [user]}
                quota:
                  tenants:
                    limited: {requests_per_minute: 1}
                sidecars: {health: {interval: 1h, timeout: 1s}}
                """.formatted(sha256Hex(API_KEY)), AuditSetup.env(db.dbUrl(), dir.resolve("spool"), Map.of(
                "CY_AUTH_MODE", "required",
                "CY_AUTH_HMAC_SECRET", SECRET)));
        channel = stack.coordinatorChannel();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    static String token(String subject, String tenant, List<String> roles, String secret) {
        return Jwts.builder().subject(subject).claim("tenant", tenant).claim("roles", roles)
                .issuedAt(new Date()).expiration(Date.from(Instant.now().plusSeconds(600)))
                .signWith(Keys.hmacShaKeyFor(secret.getBytes(UTF_8)), Jwts.SIG.HS256).compact();
    }

    static String token(String subject, String tenant, List<String> roles) {
        return token(subject, tenant, roles, SECRET);
    }

    static StreamPredictRequest request(String traceId, int maxNewTokens, Map<String, String> extra) {
        final StreamPredictRequest r = TestStack.request(maxNewTokens, extra);
        return r.toBuilder().setMetadata(r.getMetadata().toBuilder().setTraceId(traceId)).build();
    }

    static Metadata withTraceId(Metadata headers, String traceId) {
        headers.put(TRACE_ID, traceId);
        return headers;
    }

    @Test
    void everyKindOfCallBecomesExactlyOneMatchingRow() throws Exception {
        // given: callers of several tenants, and credentials that must never reach the table
        final String user = token("svc-user", "acme", List.of("user"));
        final String admin = token("ops-admin", "ops", List.of("admin"));
        final String limited = token("svc-limited", "limited", List.of("user"));
        final String web = token("web-user", "web", List.of("user"));
        final String forged = token("svc-user", "acme", List.of("admin"), SECRET.replace('a', 'b'));
        final List<String> secrets = new ArrayList<>(List.of(user, admin, limited, web, forged, API_KEY, SECRET,
                "tok-7f3a9c", "hunter2-pw"));
        final String sidecar = stack.coordinator.sidecars().all().get(0).toString();

        // when: two calls that complete, and one with an API key
        final Result ok1 = TestStack.call(channel, request("audit-ok-1", 3, Map.of()), bearer(user), null);
        final Result ok2 = TestStack.call(channel, request("audit-ok-2", 3, Map.of()), bearer(user), null);
        final Result keyed = TestStack.call(channel, request("audit-api-key", 2, Map.of()), bearer(API_KEY), null);
        // a call the sidecar fails after one chunk
        final Result failed = TestStack.call(channel, request("audit-sidecar-error", 5,
                Map.of("sim.fail", "FAILED_PRECONDITION", "sim.fail_after", "1")), bearer(user), null);
        // a call the client cancels after two chunks
        final QuotaCalls.Stream cancelled = QuotaCalls.Stream.start(channel,
                request("audit-cancel", 100, Map.of("sim.stall_after", "2")), 2, bearer(user), null);
        assertThat(cancelled.awaitChunks()).isTrue();
        cancelled.cancel();
        final Result cancelledResult = cancelled.awaitResult();
        // two calls authentication refuses: a forged token, and none at all
        final Result badSignature = TestStack.call(channel, request("audit-forged", 3, Map.of()),
                withTraceId(bearer(forged), "audit-auth-forged"), null);
        final Result noToken = TestStack.call(channel, request("audit-anonymous", 3, Map.of()),
                withTraceId(noCredential(), "audit-auth-none"), null);
        // a tenant's one call a minute, and a second call the quota refuses
        final Result quotaOk = TestStack.call(channel, request("audit-quota-ok", 1, Map.of()), bearer(limited), null);
        final Result quotaRefused = TestStack.call(channel, request("audit-quota-refused", 1, Map.of()),
                bearer(limited), null);
        // a request validation refuses
        final Result invalid = TestStack.call(channel, request("audit-invalid", 9000, Map.of()), bearer(user), null);
        // a Control command with secrets in its payload, and one without the role for it
        final ControlMessage pong = HealthAndControlTest.control(channel, "audit-control-ping", "ping",
                Map.of("note", "hello", "api_token", "tok-7f3a9c", "password", "hunter2-pw"), bearer(admin));
        final Status deniedControl = AuthCalls.statusOf(() -> HealthAndControlTest.control(channel,
                "audit-control-denied", "ping", Map.of("note", "not allowed"), bearer(user)));
        // and a chat completion through the HTTP bridge
        final HttpResponse<String> http = postChat(web, "audit-http-1");

        assertThat(List.of(ok1.status(), ok2.status(), keyed.status(), quotaOk.status()))
                .extracting(Status::getCode).containsOnly(Code.OK);
        assertThat(failed.status().getCode()).isEqualTo(Code.FAILED_PRECONDITION);
        assertThat(cancelledResult.status().getCode()).isEqualTo(Code.CANCELLED);
        assertThat(badSignature.status().getCode()).isEqualTo(Code.UNAUTHENTICATED);
        assertThat(noToken.status().getCode()).isEqualTo(Code.UNAUTHENTICATED);
        assertThat(quotaRefused.status().getCode()).isEqualTo(Code.RESOURCE_EXHAUSTED);
        assertThat(invalid.status().getCode()).isEqualTo(Code.INVALID_ARGUMENT);
        assertThat(pong.getPayloadMap()).containsEntry("status", "ok");
        assertThat(deniedControl.getCode()).isEqualTo(Code.PERMISSION_DENIED);
        assertThat(http.statusCode()).as(http.body()).isEqualTo(200);
        final int calls = 13;

        // then: exactly one row per call
        final List<Row> rows = AuditTable.awaitRows(db, calls);
        assertThat(rows).as("rows:%n%s", AuditTable.describe(rows)).hasSize(calls);
        assertThat(AuditTable.distinctEventIds(db)).isEqualTo(calls);

        // calls that ran: who, what, how they ended
        for (String traceId : List.of("audit-ok-1", "audit-ok-2")) {
            final Row row = only(rows, traceId, r -> traceId.equals(r.traceId()));
            assertThat(row.kind()).isEqualTo("call");
            assertThat(row.api()).isEqualTo("grpc");
            assertThat(row.method()).isEqualTo("StreamPredict");
            assertThat(row.tenant()).isEqualTo("acme");
            assertThat(row.subject()).isEqualTo("svc-user");
            assertThat(row.credentialKind()).isEqualTo("jwt");
            assertThat(row.keyId()).as("an HMAC token names no signing key").isNull();
            assertThat(row.clientAddress()).contains("127.0.0.1");
            assertThat(row.model()).isEqualTo("sim");
            assertThat(row.sidecar()).isEqualTo(sidecar);
            assertThat(row.statusCode()).isEqualTo("OK");
            assertThat(row.statusDescription()).isNull();
            assertThat(row.chunks()).isEqualTo(3);
            assertThat(row.promptTokens()).as("'User: Hello\\nAssistant:' is 22 bytes").isEqualTo(5);
            assertThat(row.ttfcMs()).isNotNull().isPositive();
            assertThat(row.durationMs()).isGreaterThanOrEqualTo(row.ttfcMs());
            assertThat(row.bytesOut()).isPositive();
            assertThat(row.quotaDecision()).isEqualTo("admitted");
            assertThat(row.cancelledByClient()).isFalse();
            assertThat(row.reason()).isNull();
            assertThat(row.command()).isNull();
            assertThat(row.payload()).isNull();
        }
        final Row apiKey = only(rows, "the API key's call", r -> "audit-api-key".equals(r.traceId()));
        assertThat(apiKey.kind()).isEqualTo("call");
        assertThat(apiKey.tenant()).isEqualTo("keyed");
        assertThat(apiKey.subject()).isEqualTo("ci-key");
        assertThat(apiKey.credentialKind()).isEqualTo("api_key");
        assertThat(apiKey.keyId()).isEqualTo("ci-key");
        assertThat(apiKey.statusCode()).isEqualTo("OK");
        assertThat(apiKey.chunks()).isEqualTo(2);

        final Row sidecarError = only(rows, "the sidecar's error", r -> "audit-sidecar-error".equals(r.traceId()));
        assertThat(sidecarError.kind()).as("it ran: a call, not a rejection").isEqualTo("call");
        assertThat(sidecarError.tenant()).isEqualTo("acme");
        assertThat(sidecarError.sidecar()).isEqualTo(sidecar);
        assertThat(sidecarError.statusCode()).isEqualTo("FAILED_PRECONDITION");
        assertThat(sidecarError.statusDescription()).isEqualTo(failed.status().getDescription());
        assertThat(sidecarError.chunks()).isEqualTo(1);
        assertThat(sidecarError.quotaDecision()).isEqualTo("admitted");
        assertThat(sidecarError.reason()).isNull();
        assertThat(sidecarError.cancelledByClient()).isFalse();

        final Row cancel = only(rows, "the cancelled call", r -> "audit-cancel".equals(r.traceId()));
        assertThat(cancel.kind()).isEqualTo("call");
        assertThat(cancel.tenant()).isEqualTo("acme");
        assertThat(cancel.sidecar()).isEqualTo(sidecar);
        assertThat(cancel.statusCode()).isEqualTo("CANCELLED");
        assertThat(cancel.cancelledByClient()).isTrue();
        assertThat(cancel.chunks()).isEqualTo(2);
        assertThat(rows).filteredOn(Row::cancelledByClient).containsExactly(cancel);

        // refused by authentication: the reason, never the token
        final Row forgedRow = only(rows, "the forged token", r -> "audit-auth-forged".equals(r.traceId()));
        assertThat(forgedRow.kind()).isEqualTo("rejected");
        assertThat(forgedRow.api()).isEqualTo("grpc");
        assertThat(forgedRow.method()).isEqualTo("StreamPredict");
        assertThat(forgedRow.statusCode()).isEqualTo("UNAUTHENTICATED");
        assertThat(forgedRow.reason()).isEqualTo("bad signature");
        assertThat(forgedRow.tenant()).isNull();
        assertThat(forgedRow.subject()).isNull();
        assertThat(forgedRow.credentialKind()).isNull();
        assertThat(forgedRow.sidecar()).isNull();
        assertThat(forgedRow.chunks()).isZero();
        assertThat(forgedRow.clientAddress()).contains("127.0.0.1");
        final Row anonymous = only(rows, "the call without a token", r -> "audit-auth-none".equals(r.traceId()));
        assertThat(anonymous.kind()).isEqualTo("rejected");
        assertThat(anonymous.statusCode()).isEqualTo("UNAUTHENTICATED");
        assertThat(anonymous.reason()).isEqualTo(noToken.status().getDescription()).contains("missing authorization");

        // refused by the quota: the tenant, the decision and the reason
        final Row quotaAdmitted = only(rows, "the quota's first call", r -> "audit-quota-ok".equals(r.traceId()));
        assertThat(quotaAdmitted.kind()).isEqualTo("call");
        assertThat(quotaAdmitted.tenant()).isEqualTo("limited");
        final Row quotaRow = only(rows, "the quota's refusal",
                r -> "limited".equals(r.tenant()) && "rejected".equals(r.kind()));
        assertThat(quotaRow.subject()).isEqualTo("svc-limited");
        assertThat(quotaRow.credentialKind()).isEqualTo("jwt");
        assertThat(quotaRow.method()).isEqualTo("StreamPredict");
        assertThat(quotaRow.model()).isEqualTo("sim");
        assertThat(quotaRow.statusCode()).isEqualTo("RESOURCE_EXHAUSTED");
        assertThat(quotaRow.quotaDecision()).isEqualTo("rejected:requests_per_minute");
        assertThat(quotaRow.reason()).isEqualTo(quotaRefused.status().getDescription())
                .contains("tenant limited", "requests/min (limit 1)");
        assertThat(quotaRow.sidecar()).isNull();
        assertThat(quotaRow.chunks()).isZero();

        // refused by validation
        final Row invalidRow = only(rows, "the invalid request",
                r -> "INVALID_ARGUMENT".equals(r.statusCode()));
        assertThat(invalidRow.kind()).isEqualTo("rejected");
        assertThat(invalidRow.tenant()).isEqualTo("acme");
        assertThat(invalidRow.subject()).isEqualTo("svc-user");
        assertThat(invalidRow.model()).isEqualTo("sim");
        assertThat(invalidRow.reason()).isEqualTo(invalid.status().getDescription()).contains("max_new_tokens");
        assertThat(invalidRow.quotaDecision()).as("validation refused it before the quota was asked")
                .isEqualTo("none");
        assertThat(invalidRow.sidecar()).isNull();

        // Control: the command, the caller and the payload with secret-looking values masked
        final Row ping = only(rows, "Control ping", r -> "audit-control-ping".equals(r.traceId()));
        assertThat(ping.kind()).isEqualTo("control");
        assertThat(ping.method()).isEqualTo("Control");
        assertThat(ping.command()).isEqualTo("ping");
        assertThat(ping.tenant()).isEqualTo("ops");
        assertThat(ping.subject()).isEqualTo("ops-admin");
        assertThat(ping.credentialKind()).isEqualTo("jwt");
        assertThat(ping.statusCode()).isEqualTo("OK");
        assertThat(ping.payload()).containsExactlyInAnyOrderEntriesOf(
                Map.of("note", "hello", "api_token", "***", "password", "***"));
        final Row denied = only(rows, "Control without the role", r -> "audit-control-denied".equals(r.traceId()));
        assertThat(denied.kind()).isEqualTo("control");
        assertThat(denied.command()).isEqualTo("ping");
        assertThat(denied.tenant()).isEqualTo("acme");
        assertThat(denied.statusCode()).isEqualTo("PERMISSION_DENIED");
        assertThat(denied.payload()).containsExactlyEntriesOf(Map.of("note", "not allowed"));

        // the HTTP bridge's call
        final Row httpRow = only(rows, "the HTTP call", r -> "web".equals(r.tenant()));
        assertThat(httpRow.api()).isEqualTo("http");
        assertThat(httpRow.kind()).isEqualTo("call");
        assertThat(httpRow.method()).isEqualTo("StreamPredict");
        assertThat(httpRow.traceId()).isEqualTo("audit-http-1");
        assertThat(httpRow.subject()).isEqualTo("web-user");
        assertThat(httpRow.statusCode()).isEqualTo("OK");
        assertThat(httpRow.chunks()).isEqualTo(4);
        assertThat(rows).filteredOn(r -> !"web".equals(r.tenant())).extracting(Row::api).containsOnly("grpc");

        // and no credential, in any column of any row
        for (String secret : secrets) {
            assertThat(AuditTable.rowsContaining(db, secret)).as("rows holding a credential or secret").isZero();
        }
    }

    @Test
    void healthReportsTheAuditLogWithTheDatabaseUp() throws Exception {
        Eventually.await("audit_db=up", AuditTable.ARRIVAL,
                () -> "up".equals(HealthAndControlTest.health(channel).getMetricsMap().get("audit_db")));

        final Map<String, String> metrics = HealthAndControlTest.health(channel).getMetricsMap();

        assertThat(metrics).containsEntry("audit_db", "up")
                .containsEntry("audit_spool_bytes", "0")
                .containsEntry("audit_dropped", "0")
                .containsKey("audit_queue");
        assertThat(metrics.get("audit_queue")).matches("\\d+");
    }

    private static HttpResponse<String> postChat(String token, String requestId) throws Exception {
        final HttpRequest request = HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + stack.coordinator.httpEndpoint().port() + "/v1/chat/completions"))
                .timeout(TestStack.TIMEOUT)
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + token)
                .header("x-request-id", requestId)
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"sim\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":4}"))
                .build();
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
                .send(request, HttpResponse.BodyHandlers.ofString());
    }

    static String sha256Hex(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(UTF_8)));
    }
}
