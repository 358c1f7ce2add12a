package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.cy.audit.TestDatabase;
import io.cy.coordinator.AuditTable.Row;
import io.cy.llm.proto.ControlMessage;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin API with a real HTTP client against a coordinator with authentication, two sims and
 * the audit log in a real PostgreSQL: who gets in, what each endpoint answers, and that a change
 * made through it is a Control command, audited with the caller's identity.
 */
class ConsoleApiTest {

    @TempDir
    static Path dir;

    static TestDatabase.Db db;
    static ConsoleStack console;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        db = TestDatabase.newDatabase();
        console = ConsoleStack.start(dir, db, Map.of());
        channel = console.stack.coordinatorChannel();
    }

    @AfterAll
    static void stop() {
        if (console != null) {
            console.close();
        }
    }

    static Metadata admin() {
        return AuthCalls.bearer(ConsoleStack.adminToken());
    }

    static ControlMessage control(String command, Map<String, String> payload) {
        return HealthAndControlTest.control(channel, "trace-" + command, command, payload, admin());
    }

    @Test
    void aMissingOrWrongTokenIs401AndATokenWithoutTheAdminRoleIs403() throws Exception {
        final HttpResponse<String> missing = console.get("/admin/api/overview", null);
        assertThat(missing.statusCode()).isEqualTo(401);
        assertThat(missing.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
        assertThat(ConsoleStack.json(missing).get("error").asText()).isEqualTo("unauthenticated");
        assertThat(ConsoleStack.json(missing).get("message").asText()).contains("missing authorization header");

        final String forged = ConsoleStack.token("ops-admin", "ops", List.of("admin"),
                ConsoleStack.SECRET.replace('c', 'd'));
        final HttpResponse<String> wrong = console.get("/admin/api/sidecars", forged);
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(ConsoleStack.json(wrong).get("message").asText()).isNotEmpty().doesNotContain(forged);

        // The header read as the gRPC listener reads it: the same answers for the same mistakes.
        final HttpResponse<String> scheme = console.getAuthorized("/admin/api/routes", "Basic b3BzOnNlY3JldA==");
        assertThat(scheme.statusCode()).isEqualTo(401);
        assertThat(ConsoleStack.json(scheme).get("message").asText())
                .isEqualTo("unsupported authorization scheme 'Basic' (expected: Bearer)");
        final HttpResponse<String> empty = console.getAuthorized("/admin/api/routes", "Bearer ");
        assertThat(empty.statusCode()).isEqualTo(401);
        assertThat(ConsoleStack.json(empty).get("message").asText())
                .isEqualTo("the token after 'Bearer ' is empty (expected: Bearer <token>)");

        final String user = ConsoleStack.token("svc-user", "acme", List.of("user"), ConsoleStack.SECRET);
        final HttpResponse<String> forbidden = console.post("/admin/api/sidecars/drain", user,
                "{\"addr\": \"" + console.stack.coordinator.sidecars().all().get(0) + "\"}");
        assertThat(forbidden.statusCode()).isEqualTo(403);
        assertThat(ConsoleStack.json(forbidden).get("message").asText())
                .isEqualTo("role 'admin' required for the admin API (tenant acme has roles: user)");
        assertThat(console.stack.coordinator.sidecars().all()).noneMatch(s -> s.isDraining());

        final HttpResponse<String> session = console.get("/admin/api/session", ConsoleStack.adminToken());
        assertThat(session.statusCode()).isEqualTo(200);
        assertThat(ConsoleStack.json(session).get("subject").asText()).isEqualTo("ops-admin");
        assertThat(ConsoleStack.json(session).get("auth").asText()).isEqualTo("required");
    }

    @Test
    void metricsHealthAndReadinessStayOpenAndThePageLoadsWithoutAToken() throws Exception {
        assertThat(console.get("/metrics", null).statusCode()).isEqualTo(200);
        assertThat(console.get("/healthz", null).body()).isEqualTo("ok\n");
        assertThat(console.get("/readyz", null).statusCode()).isEqualTo(200);

        final HttpResponse<String> page = console.get("/", null);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(page.headers().firstValue("Cache-Control")).hasValue("no-cache");
        assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow()).contains("default-src 'self'");
        // Every script and stylesheet is bundled and served here: nothing from another origin.
        assertThat(page.body()).doesNotContain("http://", "https://", "//cdn");
        final java.util.regex.Matcher asset = java.util.regex.Pattern.compile("/assets/[A-Za-z0-9._-]+\\.js")
                .matcher(page.body());
        assertThat(asset.find()).as("a script of the bundle in %s", page.body()).isTrue();
        final HttpResponse<String> script = console.get(asset.group(), null);
        assertThat(script.statusCode()).isEqualTo(200);
        assertThat(script.headers().firstValue("Content-Type")).hasValue("text/javascript; charset=utf-8");
        assertThat(script.headers().firstValue("Cache-Control")).hasValue("public, max-age=31536000, immutable");

        assertThat(console.get("/assets/../../etc/passwd", null).statusCode()).isEqualTo(404);
    }

    @Test
    void eachEndpointAnswersTheRealState() throws Exception {
        final String token = ConsoleStack.adminToken();
        assertThat(console.call("acme", "chat", "console-api-call-1").status().isOk()).isTrue();
        assertThat(console.call("limited", "default", "console-api-limited-1").status().isOk()).isTrue();
        assertThat(console.call("limited", "default", "console-api-limited-2").status().getCode())
                .isEqualTo(io.grpc.Status.Code.RESOURCE_EXHAUSTED);

        final JsonNode overview = ConsoleStack.json(console.get("/admin/api/overview", token));
        assertThat(overview.get("version").asText()).isNotEmpty();
        assertThat(overview.get("uptime_seconds").asLong()).isGreaterThanOrEqualTo(0);
        assertThat(overview.get("sidecars").asInt()).isEqualTo(2);
        assertThat(overview.get("interval_seconds").asInt()).isEqualTo(5);
        assertThat(overview.get("now").has("calls_per_second")).isTrue();
        assertThat(overview.get("now").has("ttft_p99_ms")).isTrue();
        assertThat(overview.get("series").get("time").isArray()).isTrue();
        assertThat(overview.get("series").get("latency_p50_ms").size())
                .isEqualTo(overview.get("series").get("time").size());

        final JsonNode sidecars = ConsoleStack.json(console.get("/admin/api/sidecars", token));
        final List<String> backends = new ArrayList<>();
        sidecars.get("backends").forEach(b -> backends.add(b.get("id").asText()));
        assertThat(backends).containsExactlyInAnyOrder("gpu-a", "cpu-b");
        final JsonNode first = sidecars.get("backends").get(0).get("sidecars").get(0);
        assertThat(first.get("addr").asText()).startsWith("unix://");
        assertThat(first.get("healthy").asBoolean()).isTrue();
        for (String key : List.of("reason", "ejected", "ejected_until", "draining", "inflight", "calls_per_second")) {
            assertThat(first.has(key)).as(key).isTrue();
        }
        assertThat(sidecars.get("backends").get(0).has("queue_depth")).isTrue();

        final JsonNode routes = ConsoleStack.json(console.get("/admin/api/routes", token));
        assertThat(routes.get("version").asLong()).isPositive();
        final JsonNode chat = find(routes.get("aliases"), "alias", "chat");
        assertThat(chat.get("targets")).hasSize(2);
        assertThat(chat.get("targets").get(0).get("weight").asInt()).isEqualTo(90);
        assertThat(chat.get("degrade").get("mode").asText()).isEqualTo("off");
        final JsonNode active = find(routes.get("history"), "active", "true");
        assertThat(active.get("version").asLong()).isEqualTo(routes.get("version").asLong());

        final JsonNode tenants = ConsoleStack.json(console.get("/admin/api/tenants", token));
        final JsonNode acme = find(tenants.get("tenants"), "tenant", "acme");
        assertThat(acme.get("limits").get("concurrent").asText()).isEqualTo("4");
        assertThat(acme.get("limits").get("tokens_per_day").asText()).isEqualTo("1000000");
        assertThat(acme.get("usage").has("tokens_in_minute_window")).isTrue();
        final JsonNode limited = find(tenants.get("tenants"), "tenant", "limited");
        assertThat(limited.get("refusals").get("requests_per_minute").asLong()).isEqualTo(1);

        // The audit log is written in the background: the call shows once its row is in.
        AuditTable.awaitRow(db, "console-api-call-1", r -> "console-api-call-1".equals(r.traceId()));
        AuditTable.awaitRow(db, "console-api-limited-2", r -> "console-api-limited-2".equals(r.traceId()));
        final JsonNode calls = ConsoleStack.json(console.get("/admin/api/calls", token));
        assertThat(calls.get("source").asText()).isEqualTo("audit");
        final JsonNode call = find(calls.get("calls"), "trace_id", "console-api-call-1");
        assertThat(call.get("tenant").asText()).isEqualTo("acme");
        assertThat(call.get("alias").asText()).isEqualTo("chat");
        assertThat(call.get("status").asText()).isEqualTo("OK");
        assertThat(call.get("chunks").asLong()).isEqualTo(3);

        final JsonNode refused = ConsoleStack.json(console.get("/admin/api/calls?tenant=limited&status=resource_exhausted",
                token));
        assertThat(refused.get("calls")).hasSize(1);
        assertThat(refused.get("calls").get(0).get("trace_id").asText()).isEqualTo("console-api-limited-2");
        assertThat(refused.get("calls").get(0).get("kind").asText()).isEqualTo("rejected");
        final JsonNode byModel = ConsoleStack.json(console.get("/admin/api/calls?model=chat", token));
        byModel.get("calls").forEach(c -> assertThat(c.get("alias").asText()).isEqualTo("chat"));
        assertThat(byModel.get("calls").size()).isPositive();
    }

    @Test
    void aDrainThroughTheApiIsAControlCommandAuditedWithTheCallersIdentity() throws Exception {
        final String addr = console.stack.coordinator.sidecars().all().get(1).toString();
        final HttpResponse<String> drained = console.post("/admin/api/sidecars/drain", ConsoleStack.adminToken(),
                "{\"addr\": \"" + addr + "\"}");
        assertThat(drained.statusCode()).as(drained.body()).isEqualTo(200);
        assertThat(ConsoleStack.json(drained).get("status").asText()).isEqualTo("ok");
        assertThat(ConsoleStack.json(drained).get("message").asText()).isEqualTo("draining " + addr);

        // What a gRPC Control list_sidecars reports now.
        assertThat(draining(addr)).isEqualTo("true");
        final Row row = AuditTable.awaitRow(db, "drain_sidecar through the admin API",
                r -> "drain_sidecar".equals(r.command()));
        assertThat(row.kind()).isEqualTo("control");
        assertThat(row.method()).isEqualTo("Control");
        assertThat(row.api()).isEqualTo("admin");
        assertThat(row.subject()).isEqualTo("ops-admin");
        assertThat(row.tenant()).isEqualTo("ops");
        assertThat(row.credentialKind()).isEqualTo("jwt");
        assertThat(row.statusCode()).isEqualTo("OK");
        assertThat(row.statusDescription()).isEqualTo("ok");
        assertThat(row.payload()).containsEntry("addr", addr);
        assertThat(row.clientAddress()).startsWith("127.0.0.1:");

        assertThat(console.post("/admin/api/sidecars/undrain", ConsoleStack.adminToken(),
                "{\"addr\": \"" + addr + "\"}").statusCode()).isEqualTo(200);
        assertThat(draining(addr)).isEqualTo("false");
    }

    @Test
    void rollbackThroughTheApiRestoresThePreviousVersion() throws Exception {
        final long before = Long.parseLong(control("routes_get", Map.of()).getPayloadOrThrow("version"));
        final ControlMessage set = control("routes_set",
                Map.of("routes", "{\"aliases\":{\"default\":{\"backend\":\"cpu-b\",\"model\":\"sim\"}}}"));
        assertThat(set.getPayloadOrThrow("status")).as(set.toString()).isEqualTo("ok");

        final HttpResponse<String> rolledBack = console.post("/admin/api/routes/rollback", ConsoleStack.adminToken(),
                "{}");
        assertThat(rolledBack.statusCode()).as(rolledBack.body()).isEqualTo(200);
        assertThat(control("routes_get", Map.of()).getPayloadOrThrow("version")).isEqualTo(String.valueOf(before));
        final Row row = AuditTable.awaitRow(db, "routes_rollback through the admin API",
                r -> "routes_rollback".equals(r.command()) && "admin".equals(r.api()) && "ok".equals(r.statusDescription()));
        assertThat(row.payload()).containsEntry("new_version", String.valueOf(before));
    }

    @Test
    void badRequestsGetAnErrorNamingTheFieldAndTheCoordinatorKeepsServing() throws Exception {
        final String token = ConsoleStack.adminToken();
        final HttpResponse<String> noAddr = console.post("/admin/api/sidecars/drain", token, "{}");
        assertThat(noAddr.statusCode()).isEqualTo(400);
        assertThat(ConsoleStack.json(noAddr).get("message").asText()).startsWith("addr: missing (expected: one of ");

        final HttpResponse<String> unknown = console.post("/admin/api/sidecars/drain", token,
                "{\"addr\": \"unix:///nowhere.sock\"}");
        assertThat(unknown.statusCode()).isEqualTo(400);
        assertThat(ConsoleStack.json(unknown).get("message").asText())
                .startsWith("addr: unix:///nowhere.sock is not a configured sidecar");

        final HttpResponse<String> version = console.post("/admin/api/routes/rollback", token, "{\"version\": \"x\"}");
        assertThat(version.statusCode()).isEqualTo(400);
        assertThat(ConsoleStack.json(version).get("message").asText()).startsWith("version: 'x' (expected: one of");

        final HttpResponse<String> text = console.send("POST", "/admin/api/sidecars/drain", token, "text/plain",
                "{\"addr\": \"x\"}");
        assertThat(text.statusCode()).isEqualTo(415);
        assertThat(ConsoleStack.json(text).get("message").asText())
                .isEqualTo("Content-Type: text/plain (expected: application/json)");

        final HttpResponse<String> notJson = console.post("/admin/api/sidecars/drain", token, "{addr");
        assertThat(notJson.statusCode()).isEqualTo(400);
        assertThat(ConsoleStack.json(notJson).get("message").asText()).startsWith("body: not JSON");

        final HttpResponse<String> large = console.post("/admin/api/sidecars/drain", token,
                "{\"addr\": \"" + "x".repeat(16 * 1024) + "\"}");
        assertThat(large.statusCode()).isEqualTo(413);
        assertThat(ConsoleStack.json(large).get("message").asText()).contains("(expected: <= 16384)");

        final HttpResponse<String> filter = console.get("/admin/api/calls?tenant=" + "t".repeat(300), token);
        assertThat(filter.statusCode()).isEqualTo(400);
        assertThat(ConsoleStack.json(filter).get("message").asText()).isEqualTo("tenant: 300 characters (expected: <= 256)");

        assertThat(console.get("/admin/api/sidecars/drain", token).statusCode()).isEqualTo(405);
        assertThat(console.get("/admin/api/nothing", token).statusCode()).isEqualTo(404);

        assertThat(control("ping", Map.of()).getPayloadOrThrow("status")).isEqualTo("ok");
        assertThat(console.get("/admin/api/overview", token).statusCode()).isEqualTo(200);
    }

    private static String draining(String addr) {
        final Map<String, String> payload = control("list_sidecars", Map.of()).getPayloadMap();
        for (int i = 0; i < Integer.parseInt(payload.get("count")); i++) {
            if (addr.equals(payload.get("sidecar." + i + ".addr"))) {
                return payload.get("sidecar." + i + ".draining");
            }
        }
        throw new AssertionError(addr + " not in list_sidecars: " + payload);
    }

    private static JsonNode find(JsonNode array, String key, String value) {
        for (JsonNode node : array) {
            if (value.equals(node.get(key).asText())) {
                return node;
            }
        }
        throw new AssertionError("no " + key + "=" + value + " in " + array);
    }
}
