package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.audit.TestDatabase;
import io.cy.coordinator.AuditTable.Row;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Calls through the HTTP bridge are audited like gRPC calls, with {@code api = 'http'}: those that
 * ran, and those refused on the way (authentication, quota), and the Control command behind
 * {@code GET /v1/models}.
 */
class AuditHttpTest {

    static final String SECRET = AuditCallsTest.SECRET;

    @TempDir
    static Path dir;

    static TestDatabase.Db db;
    static TestStack stack;
    static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        db = TestDatabase.newDatabase();
        stack = TestStack.start(dir, 1, sim -> sim.models(List.of("sim")), """
                quota:
                  tenants:
                    limited: {requests_per_minute: 1}
                sidecars: {health: {interval: 1h, timeout: 1s}}
                """, AuditSetup.env(db.dbUrl(), dir.resolve("spool"), Map.of(
                "CY_AUTH_MODE", "required",
                "CY_AUTH_HMAC_SECRET", SECRET)));
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void aChatCompletionIsACallOfApiHttp() throws Exception {
        final String token = AuditCallsTest.token("web-user", "web", List.of("user"));

        final HttpResponse<String> response = send(post(token, "audit-http-ok", 3));

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        final Row row = AuditTable.awaitRow(db, "the chat completion", r -> "audit-http-ok".equals(r.traceId()));
        assertThat(row.api()).isEqualTo("http");
        assertThat(row.clientAddress()).as("the HTTP client's, not the in-process peer's")
                .matches("/127\\.0\\.0\\.1:\\d+");
        assertThat(row.kind()).isEqualTo("call");
        assertThat(row.tenant()).isEqualTo("web");
        assertThat(row.subject()).isEqualTo("web-user");
        assertThat(row.statusCode()).isEqualTo("OK");
        assertThat(row.chunks()).isEqualTo(3);
    }

    @Test
    void aQuotaRefusalIsRecordedAsHttp() throws Exception {
        final String token = AuditCallsTest.token("web-limited", "limited", List.of("user"));
        assertThat(send(post(token, "audit-http-quota-1", 1)).statusCode()).isEqualTo(200);

        final HttpResponse<String> refused = send(post(token, "audit-http-quota-2", 1));

        assertThat(refused.statusCode()).isEqualTo(429);
        final Row row = AuditTable.awaitRow(db, "the quota's refusal",
                r -> "limited".equals(r.tenant()) && "rejected".equals(r.kind()));
        assertThat(row.api()).isEqualTo("http");
        assertThat(row.statusCode()).isEqualTo("RESOURCE_EXHAUSTED");
        assertThat(row.quotaDecision()).isEqualTo("rejected:requests_per_minute");
    }

    @Test
    void anAuthenticationRefusalIsRecordedAsHttp() throws Exception {
        final String forged = AuditCallsTest.token("web-user", "web", List.of("user"), SECRET.replace('a', 'c'));

        final HttpResponse<String> refused = send(post(forged, "audit-http-forged", 3));

        assertThat(refused.statusCode()).isEqualTo(401);
        final Row row = AuditTable.awaitRow(db, "the forged token", r -> "audit-http-forged".equals(r.traceId()));
        assertThat(row.kind()).isEqualTo("rejected");
        assertThat(row.reason()).isEqualTo("bad signature");
        assertThat(row.method()).isEqualTo("StreamPredict");
        assertThat(row.api()).as("refused on its way from the HTTP bridge").isEqualTo("http");
        assertThat(row.clientAddress()).matches("/127\\.0\\.0\\.1:\\d+");
        assertThat(AuditTable.rowsContaining(db, forged)).isZero();
    }

    @Test
    void listingModelsIsAControlCommandOfApiHttp() throws Exception {
        final String token = AuditCallsTest.token("web-user", "web", List.of("user"));

        final HttpResponse<String> models = send(HttpRequest.newBuilder(uri("/v1/models"))
                .timeout(TestStack.TIMEOUT)
                .header("Authorization", "Bearer " + token)
                .header("x-request-id", "audit-http-models")
                .GET().build());

        assertThat(models.statusCode()).as(models.body()).isEqualTo(200);
        final Row row = AuditTable.awaitRow(db, "list_models", r -> "audit-http-models".equals(r.traceId()));
        assertThat(row.kind()).isEqualTo("control");
        assertThat(row.command()).isEqualTo("list_models");
        assertThat(row.tenant()).isEqualTo("web");
        assertThat(row.api()).as("asked through the HTTP bridge").isEqualTo("http");
        assertThat(row.clientAddress()).matches("/127\\.0\\.0\\.1:\\d+");
    }

    private static HttpRequest post(String token, String requestId, int maxTokens) {
        return HttpRequest.newBuilder(uri("/v1/chat/completions"))
                .timeout(TestStack.TIMEOUT)
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + token)
                .header("x-request-id", requestId)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"sim\",\"messages\":[{\"role\":\"user\","
                        + "\"content\":\"Hello\"}],\"max_tokens\":" + maxTokens + "}"))
                .build();
    }

    private static URI uri(String path) {
        return URI.create("http://127.0.0.1:" + stack.coordinator.httpEndpoint().port() + path);
    }

    private static HttpResponse<String> send(HttpRequest request) throws Exception {
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
