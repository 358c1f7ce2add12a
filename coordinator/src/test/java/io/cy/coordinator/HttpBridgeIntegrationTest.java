package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.service.CallSummary;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Keys;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP bridge inside the coordinator: its calls meet the same authentication and quotas as gRPC calls. */
class HttpBridgeIntegrationTest {

    private static final String SECRET = "bridge-integration-secret-0123456789abcdef";

    @TempDir
    static Path dir;

    private static TestStack stack;
    private static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        stack = TestStack.start(dir, 1, sim -> sim.models(List.of("sim", "other")), """
                quota:
                  tenants:
                    limited: {requests_per_minute: 1}
                    picky: {models: [other]}
                """, Map.of("CY_AUTH_MODE", "required", "CY_AUTH_HMAC_SECRET", SECRET));
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private static String token(String tenant) {
        return Jwts.builder().subject("http-user").claim("tenant", tenant).claim("roles", List.of("user"))
                .issuedAt(new Date()).expiration(Date.from(Instant.now().plusSeconds(600)))
                .signWith(Keys.hmacShaKeyFor(SECRET.getBytes(StandardCharsets.UTF_8)), Jwts.SIG.HS256).compact();
    }

    private static HttpResponse<String> post(String path, String token, String json) throws Exception {
        final HttpRequest.Builder request = HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + stack.coordinator.httpEndpoint().port() + path))
                .timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String chat(int maxTokens, boolean stream) {
        return "{\"model\":\"sim\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":" + maxTokens
                + (stream ? ",\"stream\":true" : "") + "}";
    }

    @Test
    void chatCompletionThroughTheCoordinatorIsAuthenticatedAndAuditedAsHttp() throws Exception {
        stack.summaries.clear();

        final HttpResponse<String> response = post("/v1/chat/completions", token("acme"), chat(5, false));

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.body()).contains("\"object\":\"chat.completion\"").contains("\"completion_tokens\":5");
        assertThat(stack.sim().stats().lastRequest().getMetadata().getTenant()).isEqualTo("acme");
        assertThat(stack.sim().stats().lastRequest().getPrompt()).isEqualTo("User: Hello\nAssistant:");
        final CallSummary summary = stack.summaries.poll(20, TimeUnit.SECONDS);
        assertThat(summary.api()).isEqualTo("http");
        assertThat(summary.chunks()).isEqualTo(5);
    }

    @Test
    void streamingEndsWithDone() throws Exception {
        final HttpResponse<String> response = post("/v1/chat/completions", token("acme"), chat(3, true));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        assertThat(response.body()).contains("chat.completion.chunk").endsWith("data: [DONE]\n\n");
    }

    @Test
    void withoutACredentialTheBridgeAnswers401() throws Exception {
        final HttpResponse<String> response = post("/v1/chat/completions", null, chat(3, false));

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.headers().firstValue("www-authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
        assertThat(response.body()).contains("missing authorization");
    }

    @Test
    void anEmptyTokenAfterBearerIsNamedAsSuch() throws Exception {
        // What curl sends for -H "Authorization: Bearer $TOKEN" with TOKEN unset.
        final HttpResponse<String> response = post("/v1/chat/completions", "", chat(3, false));

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.body()).contains("the token after 'Bearer ' is empty")
                .doesNotContain("unsupported authorization scheme");
    }

    @Test
    void aQuotaRejectionIs429WithRetryAfter() throws Exception {
        final String limited = token("limited");
        assertThat(post("/v1/chat/completions", limited, chat(1, false)).statusCode()).isEqualTo(200);

        final HttpResponse<String> response = post("/v1/chat/completions", limited, chat(1, false));

        assertThat(response.statusCode()).isEqualTo(429);
        assertThat(response.headers().firstValue("retry-after")).isPresent();
        assertThat(response.body()).contains("tenant limited: 2 requests/min (limit 1)");
    }

    @Test
    void modelsListsWhatTheTenantMayUse() throws Exception {
        final HttpRequest request = HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + stack.coordinator.httpEndpoint().port() + "/v1/models"))
                .header("Authorization", "Bearer " + token("picky")).GET().build();

        final HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.body()).contains("\"id\":\"other\"").doesNotContain("\"id\":\"sim\"");
    }
}
