package io.cy.coordinator;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cy.audit.TestDatabase;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Keys;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;

/**
 * A coordinator as the console tests see it: two simulated sidecars in two backends, a canary
 * alias, tenants with quotas, authentication with an HMAC secret and, when given a database, the
 * audit log in it; and a real HTTP client for its admin listener.
 */
final class ConsoleStack implements AutoCloseable {

    static final String SECRET = "console-hmac-secret-5c1e7a9b3d2f4e6a8c0b1d3f5e7a9c2b";
    private static final ObjectMapper JSON = new ObjectMapper();

    final TestStack stack;
    final URI admin;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private ConsoleStack(TestStack stack) {
        this.stack = stack;
        this.admin = URI.create("http://" + stack.coordinator.adminEndpoint().host() + ":"
                + stack.coordinator.adminEndpoint().port());
    }

    /** @param db the audit database; null for no audit log (recent calls from memory) */
    static ConsoleStack start(Path dir, TestDatabase.Db db, Map<String, String> more) throws IOException {
        final String yaml = """
                backends:
                  - id: gpu-a
                    addresses: ["unix://%1$s/sidecar-0.sock"]
                    models: [{id: sim}]
                  - id: cpu-b
                    addresses: ["unix://%1$s/sidecar-1.sock"]
                    models: [{id: sim}]
                routes:
                  aliases:
                    default: {backend: gpu-a, model: sim}
                    chat:
                      - {backend: gpu-a, model: sim, weight: 90}
                      - {backend: cpu-b, model: sim, weight: 10}
                quota:
                  tenants:
                    acme: {requests_per_minute: 600, concurrent: 4, tokens_per_minute: 100000, tokens_per_day: 1000000}
                    limited: {requests_per_minute: 1}
                sidecars: {health: {interval: 1h, timeout: 1s}}
                """.formatted(dir);
        final Map<String, String> env = new java.util.HashMap<>(Map.of(
                "CY_AUTH_MODE", "required",
                "CY_AUTH_HMAC_SECRET", SECRET));
        if (db != null) {
            env.putAll(AuditSetup.env(db.dbUrl(), dir.resolve("spool"), Map.of()));
        }
        env.putAll(more);
        return new ConsoleStack(TestStack.start(dir, 2, sim -> sim.timeToFirstToken(Duration.ofMillis(20)).tokenGap(Duration.ofMillis(5)), yaml, env));
    }

    static String token(String subject, String tenant, List<String> roles, String secret) {
        return Jwts.builder().subject(subject).claim("tenant", tenant).claim("roles", roles)
                .issuedAt(new Date()).expiration(Date.from(Instant.now().plusSeconds(3600)))
                .signWith(Keys.hmacShaKeyFor(secret.getBytes(UTF_8)), Jwts.SIG.HS256).compact();
    }

    static String adminToken() {
        return token("ops-admin", "ops", List.of("admin", "user"), SECRET);
    }

    /** The answer to {@code method path} with {@code token} (null: no Authorization header). */
    HttpResponse<String> send(String method, String path, String token, String contentType, String body)
            throws IOException, InterruptedException {
        final HttpRequest.Builder request = HttpRequest.newBuilder(admin.resolve(path))
                .timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path, String token) throws IOException, InterruptedException {
        return send("GET", path, token, null, null);
    }

    /** A GET with {@code authorization} as the whole Authorization header, scheme included. */
    HttpResponse<String> getAuthorized(String path, String authorization) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(admin.resolve(path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", authorization).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String token, String json) throws IOException, InterruptedException {
        return send("POST", path, token, "application/json", json);
    }

    static JsonNode json(HttpResponse<String> response) throws IOException {
        return JSON.readTree(response.body());
    }

    /** Sends one StreamPredict of {@code tenant} for {@code model} through the coordinator's TCP listener. */
    TestStack.Result call(String tenant, String model, String traceId) throws Exception {
        final var request = TestStack.request(3).toBuilder().setModelId(model);
        request.getMetadataBuilder().setTraceId(traceId).setTenant(tenant);
        return TestStack.call(stack.coordinatorChannel(), request.build(),
                AuthCalls.bearer(token("svc-" + tenant, tenant, List.of("user"), SECRET)), null);
    }

    @Override
    public void close() {
        stack.close();
    }
}
