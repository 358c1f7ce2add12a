package io.cy.coordinator;

import static io.cy.coordinator.HealthAndControlTest.control;
import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.call;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.service.CallSummary;
import io.cy.llm.proto.ControlMessage;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.sim.SimConfig;
import io.cy.sim.SimulatedSidecar;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Four simulated sidecars with different models in three backends: gpu-a (two sidecars, one with
 * an adapter loaded), cpu-b, and disc, which learns its models from list_models. Every resolution
 * path and error over the wire, the route commands' round trips, discovery of an added model, the
 * HTTP bridge's answers.
 */
class RoutingTest {

    private static final String SECRET = "routing-test-secret-of-at-least-32-bytes!";
    private static final Metadata.Key<String> CY_BACKEND = Metadata.Key.of("cy-backend", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> CY_MODEL = Metadata.Key.of("cy-model", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> CY_ERROR = Metadata.Key.of("cy-error", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final List<List<String>> MODELS = List.of(
            List.of("qwen2.5-7b", "qwen2.5-7b-v2"), List.of("qwen2.5-7b", "qwen2.5-7b-v2"),
            List.of("qwen2.5-0.5b"), List.of("m1"));

    @TempDir
    Path dir;

    private TestStack stack;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        final AtomicInteger index = new AtomicInteger();
        stack = TestStack.start(dir, 4, sim -> {
            final int i = index.getAndIncrement();
            sim.models(MODELS.get(i));
            if (i == 1) {
                sim.adapters(List.of("sql-lora"));
            }
        }, """
                backends:
                  - id: gpu-a
                    addresses: ["unix://%1$s/sidecar-0.sock", "unix://%1$s/sidecar-1.sock"]
                    models:
                      - {id: qwen2.5-7b, adapters: [sql-lora, chat-lora]}
                      - {id: qwen2.5-7b-v2}
                  - id: cpu-b
                    addresses: ["unix://%1$s/sidecar-2.sock"]
                    models: [{id: qwen2.5-0.5b}]
                  - id: disc
                    addresses: ["unix://%1$s/sidecar-3.sock"]
                routes:
                  aliases:
                    default:  {backend: gpu-a, model: qwen2.5-7b}
                    low-cost: {backend: cpu-b, model: qwen2.5-0.5b}
                    chat:
                      - {backend: gpu-a, model: qwen2.5-7b,    weight: 90}
                      - {backend: gpu-a, model: qwen2.5-7b-v2, weight: 10}
                  sticky_key: tenant
                quota:
                  tenants:
                    picky: {models: [low-cost, gpu-a/qwen2.5-7b]}
                """.formatted(dir), Map.of("CY_AUTH_MODE", "required", "CY_AUTH_HMAC_SECRET", SECRET,
                "CY_SIDECARS_HEALTH_INTERVAL", "100ms", "CY_SIDECARS_HEALTH_TIMEOUT", "100ms"));
        channel = stack.coordinatorChannel();
    }

    @AfterEach
    void stop() {
        stack.close();
    }

    private static String token(String tenant, String... roles) {
        return Jwts.builder().subject(tenant + "-user").claim("tenant", tenant).claim("roles", List.of(roles))
                .issuedAt(new Date()).expiration(Date.from(Instant.now().plusSeconds(600)))
                .signWith(Keys.hmacShaKeyFor(SECRET.getBytes(StandardCharsets.UTF_8)), Jwts.SIG.HS256).compact();
    }

    private static Metadata as(String tenant, String... roles) {
        final Metadata headers = new Metadata();
        headers.put(AUTHORIZATION, "Bearer " + token(tenant, roles));
        return headers;
    }

    private Result call(String modelId, String adapter, String tenant) throws Exception {
        final StreamPredictRequest request = request(2).toBuilder().setModelId(modelId).setAdapter(adapter).build();
        return TestStack.call(channel, request, as(tenant, "user"), null);
    }

    private CallSummary summary() throws InterruptedException {
        return stack.summaries.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    private ControlMessage admin(String command, Map<String, String> payload) {
        return control(channel, "trace-" + command, command, payload, as("ops", "admin"));
    }

    private void served(Result result, String backend, String model) {
        assertThat(result.status().getCode()).as(result.status().toString()).isEqualTo(Status.Code.OK);
        assertThat(result.headers().get(CY_BACKEND)).isEqualTo(backend);
        assertThat(result.headers().get(CY_MODEL)).isEqualTo(model);
    }

    @Test
    void everyResolutionPathReachesTheRightSidecarWithTheResolvedModel() throws Exception {
        stack.summaries.clear();
        served(call("", "", "acme"), "gpu-a", "qwen2.5-7b");
        CallSummary s = summary();
        assertThat(s.alias()).isEqualTo("default");
        assertThat(s.backend()).isEqualTo("gpu-a");
        assertThat(s.model()).isEqualTo("qwen2.5-7b");

        served(call("low-cost", "", "acme"), "cpu-b", "qwen2.5-0.5b");
        assertThat(stack.sims.get(2).stats().lastRequest().getModelId()).isEqualTo("qwen2.5-0.5b");
        s = summary();
        assertThat(s.alias()).isEqualTo("low-cost");
        assertThat(s.sidecar()).isEqualTo(stack.sims.get(2).endpoint().toString());

        served(call("gpu-a/qwen2.5-7b-v2", "", "acme"), "gpu-a", "qwen2.5-7b-v2");
        served(call("qwen2.5-0.5b", "", "acme"), "cpu-b", "qwen2.5-0.5b");
        // disc learnt m1 from its sidecar's list_models before the coordinator took calls.
        served(call("m1", "", "acme"), "disc", "m1");
        served(call("disc/m1", "", "acme"), "disc", "m1");
        assertThat(stack.sims.get(3).stats().lastRequest().getModelId()).isEqualTo("m1");
    }

    @Test
    void whatResolvesToNothingIsNotFoundNamingIt() throws Exception {
        Result result = call("x", "", "acme");
        assertThat(result.status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(result.status().getDescription())
                .isEqualTo("unknown model \"x\" (aliases: chat, default, low-cost; backends: cpu-b, disc, gpu-a)");
        assertThat(result.trailers().get(CY_ERROR)).isEqualTo("model_not_found");

        result = call("gpu-a/qwen2.5-0.5b", "", "acme");
        assertThat(result.status().getDescription()).isEqualTo("backend \"gpu-a\" does not serve model \"qwen2.5-0.5b\"");

        result = call("default", "math-lora", "acme");
        assertThat(result.status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(result.status().getDescription()).isEqualTo(
                "backend \"gpu-a\" model \"qwen2.5-7b\" has no adapter \"math-lora\" (adapters: chat-lora, sql-lora)");
        for (SimulatedSidecar sim : stack.sims) {
            assertThat(sim.stats().callsStarted()).isZero();
        }
    }

    @Test
    void anAdapterGoesToTheSidecarThatHasItLoaded() throws Exception {
        stack.summaries.clear();
        for (int i = 0; i < 6; i++) {
            served(call("default", "sql-lora", "acme"), "gpu-a", "qwen2.5-7b");
            final CallSummary s = summary();
            assertThat(s.adapter()).isEqualTo("sql-lora");
            assertThat(s.sidecar()).isEqualTo(stack.sims.get(1).endpoint().toString());
        }
        assertThat(stack.sims.get(0).stats().callsStarted()).isZero();
        assertThat(stack.sims.get(1).stats().lastRequest().getAdapter()).isEqualTo("sql-lora");
    }

    @Test
    void quotaModelsAllowTheAliasOrTheResolvedBackendSlashModel() throws Exception {
        served(call("low-cost", "", "picky"), "cpu-b", "qwen2.5-0.5b");
        served(call("", "", "picky"), "gpu-a", "qwen2.5-7b");
        final Result refused = call("cpu-b/qwen2.5-0.5b", "", "picky");
        assertThat(refused.status().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(refused.status().getDescription()).contains("'cpu-b/qwen2.5-0.5b' is not allowed for tenant picky");
    }

    @Test
    void routesSetAndRollbackRoundTripAndAnInvalidTableLeavesTheActiveOne() throws Exception {
        ControlMessage got = admin("routes_get", Map.of());
        assertThat(got.getPayloadMap()).containsEntry("version", "1").containsEntry("balance.gpu-a", "least_inflight");
        final String original = got.getPayloadOrThrow("routes");
        assertThat(original).contains("\"low-cost\":{\"backend\":\"cpu-b\",\"model\":\"qwen2.5-0.5b\"}");

        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> control(channel, "t", "routes_set", Map.of("routes", original), as("acme", "user")))
                .hasMessageStartingWith("PERMISSION_DENIED: role 'admin' required for Control routes_set");
        assertThat(admin("routes_get", Map.of()).getPayloadOrThrow("version")).isEqualTo("1");

        final ControlMessage invalid = admin("routes_set", Map.of("routes",
                "aliases:\n  default: {backend: gpu-a, model: qwen2.5-7b}\n  chat:\n"
                        + "    - {backend: gpu-a, model: qwen2.5-7b, weight: 0}\n"));
        assertThat(invalid.getPayloadMap()).containsEntry("status", "error").containsEntry("version", "1");
        assertThat(invalid.getPayloadOrThrow("message"))
                .isEqualTo("routes not changed: routes.aliases.chat[0].weight: 0 (expected: a positive integer)");
        served(call("", "", "acme"), "gpu-a", "qwen2.5-7b");

        final ControlMessage set = admin("routes_set", Map.of("routes",
                "{\"aliases\": {\"default\": {\"backend\": \"cpu-b\", \"model\": \"qwen2.5-0.5b\"}}, \"sticky_key\": \"none\"}"));
        assertThat(set.getPayloadMap()).containsEntry("status", "ok").containsEntry("version", "2")
                .containsEntry("old_version", "1");
        served(call("", "", "acme"), "cpu-b", "qwen2.5-0.5b");
        assertThat(call("low-cost", "", "acme").status().getCode()).isEqualTo(Status.Code.NOT_FOUND);

        final ControlMessage rolledBack = admin("routes_rollback", Map.of());
        assertThat(rolledBack.getPayloadMap()).containsEntry("status", "ok").containsEntry("version", "1")
                .containsEntry("old_version", "2");
        assertThat(admin("routes_get", Map.of()).getPayloadOrThrow("routes")).isEqualTo(original);
        served(call("", "", "acme"), "gpu-a", "qwen2.5-7b");

        assertThat(admin("routes_rollback", Map.of("version", "2")).getPayloadOrThrow("version")).isEqualTo("2");
        served(call("", "", "acme"), "cpu-b", "qwen2.5-0.5b");
        assertThat(admin("routes_rollback", Map.of("version", "7")).getPayloadOrThrow("message"))
                .isEqualTo("version: 7 (expected: one of 1, 2, other than the active 2)");
    }

    @Test
    void aCanaryKeepsATenantOnOneArm() throws Exception {
        final Set<String> armsSeen = new HashSet<>();
        for (int tenant = 0; tenant < 12; tenant++) {
            final String first = call("chat", "", "t" + tenant).headers().get(CY_MODEL);
            for (int i = 0; i < 3; i++) {
                assertThat(call("chat", "", "t" + tenant).headers().get(CY_MODEL)).isEqualTo(first);
            }
            armsSeen.add(first);
        }
        assertThat(armsSeen).isSubsetOf("qwen2.5-7b", "qwen2.5-7b-v2").contains("qwen2.5-7b");
    }

    @Test
    void listSidecarsNamesEachOnesBackend() {
        final ControlMessage answer = admin("list_sidecars", Map.of());
        assertThat(answer.getPayloadMap()).containsEntry("count", "4")
                .containsEntry("sidecar.0.backend", "gpu-a").containsEntry("sidecar.1.backend", "gpu-a")
                .containsEntry("sidecar.2.backend", "cpu-b").containsEntry("sidecar.3.backend", "disc");
    }

    @Test
    void aSidecarThatAddsAModelIsFoundAtTheNextHealthInterval() throws Exception {
        assertThat(call("m2", "", "acme").status().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        final SimulatedSidecar old = stack.sims.get(3);
        final SimConfig restarted = SimConfig.builder().listen(old.endpoint().toString())
                .models(List.of("m1", "m2")).build();
        old.close();
        stack.sims.set(3, SimulatedSidecar.start(restarted));

        Eventually.await("disc/m2 listed", Duration.ofSeconds(10), () -> admin("list_models", Map.of())
                .getPayloadOrDefault("models", "").contains("disc/m2"));
        served(call("m2", "", "acme"), "disc", "m2");
        assertThat(admin("list_models", Map.of()).getPayloadOrThrow("models")).isEqualTo("chat,cpu-b/qwen2.5-0.5b,"
                + "default,disc/m1,disc/m2,gpu-a/qwen2.5-7b,gpu-a/qwen2.5-7b-v2,low-cost");
    }

    @Test
    void theHttpBridgeAnswersModelNotFoundAndListsWhatTheTenantMayUse() throws Exception {
        final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        final String base = "http://127.0.0.1:" + stack.coordinator.httpEndpoint().port();
        final HttpResponse<String> missing = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .header("Authorization", "Bearer " + token("acme", "user"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).isEqualTo("{\"error\":{\"message\":\"unknown model \\\"x\\\" (aliases: chat, default,"
                + " low-cost; backends: cpu-b, disc, gpu-a)\",\"type\":\"invalid_request_error\",\"param\":\"model\","
                + "\"code\":\"model_not_found\"}}");

        final HttpResponse<String> ok = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .header("Authorization", "Bearer " + token("acme", "user"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"low-cost\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);

        final HttpResponse<String> models = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/models"))
                .header("Authorization", "Bearer " + token("picky", "user")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(models.statusCode()).as(models.body()).isEqualTo(200);
        assertThat(models.body()).contains("\"id\":\"low-cost\"", "\"id\":\"gpu-a/qwen2.5-7b\"")
                .doesNotContain("\"id\":\"chat\"", "\"id\":\"cpu-b/qwen2.5-0.5b\"");
    }
}
