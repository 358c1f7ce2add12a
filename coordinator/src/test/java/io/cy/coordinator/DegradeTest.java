package io.cy.coordinator;

import static io.cy.coordinator.QuotaCalls.control;
import static io.cy.coordinator.TestStack.TIMEOUT;
import static io.cy.coordinator.TestStack.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.QuotaCalls.Stream;
import io.cy.coordinator.TestStack.Result;
import io.cy.coordinator.service.CallSummary;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Degrade per alias: gpu-a (one sim, max_inflight 1, no queue) with cpu-b as the fallback of
 * alias default, and premium rejecting. Over gRPC and the HTTP bridge, and switched with
 * degrade_set and routes_rollback.
 */
class DegradeTest {

    private static final Metadata.Key<String> CY_DEGRADED = Metadata.Key.of("cy-degraded", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> CY_MODEL = Metadata.Key.of("cy-model", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> RETRY_AFTER_MS = Metadata.Key.of("retry-after-ms", Metadata.ASCII_STRING_MARSHALLER);
    private static final String FALLBACK_NO_HEALTHY =
            "fallback; from=gpu-a/qwen2.5-7b; to=cpu-b/qwen2.5-0.5b; reason=no_healthy_sidecar";

    @TempDir
    Path dir;

    private TestStack stack;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        final AtomicInteger index = new AtomicInteger();
        final List<List<String>> models = List.of(List.of("qwen2.5-7b"), List.of("qwen2.5-0.5b"));
        stack = TestStack.start(dir, 2, sim -> sim.models(models.get(index.getAndIncrement())), """
                backends:
                  - id: gpu-a
                    addresses: ["unix://%1$s/sidecar-0.sock"]
                    models: [{id: qwen2.5-7b}]
                    max_inflight: 1
                    queue: {max_length: 0}
                  - id: cpu-b
                    addresses: ["unix://%1$s/sidecar-1.sock"]
                    models: [{id: qwen2.5-0.5b}]
                routes:
                  aliases:
                    default:
                      target: {backend: gpu-a, model: qwen2.5-7b}
                      degrade: {mode: fallback, fallback: [{backend: cpu-b, model: qwen2.5-0.5b}]}
                    premium:
                      target: {backend: gpu-a, model: qwen2.5-7b}
                      degrade: {mode: reject}
                    plain: {backend: gpu-a, model: qwen2.5-7b}
                """.formatted(dir), Map.of(
                // Probes late on a busy machine must not take a sidecar out of rotation: three in a
                // row past 100 ms did once, in a JVM just started; three past 500 ms take a stall of
                // 1.5 s. A closed sidecar's refused connection fails its probes at once.
                "CY_SIDECARS_HEALTH_INTERVAL", "500ms", "CY_SIDECARS_HEALTH_TIMEOUT", "500ms",
                "CY_SIDECARS_HEALTH_UNHEALTHY_THRESHOLD", "3"));
        channel = stack.coordinatorChannel();
    }

    @AfterEach
    void stop() {
        stack.close();
    }

    private Result call(String alias) throws Exception {
        return TestStack.call(channel, request(2).toBuilder().setModelId(alias).build());
    }

    private void gpuDown() throws InterruptedException {
        stack.sims.get(0).close();
        Eventually.await("gpu-a's sidecar out of rotation", TIMEOUT, () -> "false".equals(
                control(channel, "list_sidecars", Map.of()).getPayloadOrDefault("sidecar.0.healthy", "")));
    }

    @Test
    void withNoHealthySidecarTheFallbackServesAndTheResponseSaysSo() throws Exception {
        gpuDown();

        final Result result = call("default");

        assertThat(result.status().isOk()).as("%s", result.status()).isTrue();
        assertThat(result.headers().get(CY_DEGRADED)).isEqualTo(FALLBACK_NO_HEALTHY);
        assertThat(result.headers().get(CY_MODEL)).isEqualTo("qwen2.5-0.5b");
        assertThat(stack.sims.get(1).stats().lastRequest().getModelId()).isEqualTo("qwen2.5-0.5b");
        final CallSummary summary = lastSummary();
        assertThat(summary.degraded()).isEqualTo(FALLBACK_NO_HEALTHY);
        assertThat(summary.backend()).isEqualTo("cpu-b");

        // an alias without a policy fails as before
        final Result plain = call("plain");
        assertThat(plain.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(plain.headers() == null ? null : plain.headers().get(CY_DEGRADED)).isNull();
    }

    @Test
    void aFullQueueFallsBackOrIsRejectedWithPushback() throws Exception {
        // given: gpu-a's one slot taken, and no queue
        final Stream holder = Stream.start(channel, request(1000, Map.of("sim.gap_ms", "20")).toBuilder()
                .setModelId("plain").build(), 1);
        assertThat(holder.awaitChunks()).isTrue();

        final Result fallback = call("default");
        assertThat(fallback.status().isOk()).as("%s", fallback.status()).isTrue();
        assertThat(fallback.headers().get(CY_DEGRADED))
                .isEqualTo("fallback; from=gpu-a/qwen2.5-7b; to=cpu-b/qwen2.5-0.5b; reason=queue_full");

        final Result rejected = call("premium");
        QuotaCalls.assertExhausted(rejected, "queue of backend gpu-a: 0 calls waiting (expected: <= 0, queue.max_length)");
        assertThat(stack.sims.get(0).stats().callsStarted()).isEqualTo(1);
        holder.cancel();
    }

    @Test
    void rejectRefusesUnavailableWithPushbackAndDegradeSetAndRollbackSwitchIt() throws Exception {
        gpuDown();
        final Result premium = call("premium");
        assertThat(premium.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(premium.trailers().get(RETRY_AFTER_MS)).isEqualTo("1000");

        // when: degrade_set turns default to reject
        final Map<String, String> set = control(channel, "degrade_set", Map.of("alias", "default", "mode", "reject"))
                .getPayloadMap();
        assertThat(set).containsEntry("status", "ok");
        assertThat(control(channel, "routes_get", Map.of()).getPayloadMap().get("routes"))
                .contains("\"default\":{\"target\":{\"backend\":\"gpu-a\",\"model\":\"qwen2.5-7b\"},"
                        + "\"degrade\":{\"mode\":\"reject\",\"fallback\":[{\"backend\":\"cpu-b\",\"model\":\"qwen2.5-0.5b\"}]}}");
        assertThat(call("default").status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);

        // then: a rollback restores the fallback
        final Map<String, String> rolledBack = control(channel, "routes_rollback", Map.of()).getPayloadMap();
        assertThat(rolledBack).containsEntry("status", "ok").containsEntry("old_version", set.get("version"));
        final Result restored = call("default");
        assertThat(restored.status().isOk()).isTrue();
        assertThat(restored.headers().get(CY_DEGRADED)).isEqualTo(FALLBACK_NO_HEALTHY);

        // and the switch for every alias: off
        assertThat(control(channel, "degrade_set", Map.of("alias", "*", "mode", "off")).getPayloadMap())
                .containsEntry("status", "ok");
        assertThat(call("default").status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(control(channel, "degrade_set", Map.of("alias", "nope", "mode", "off")).getPayloadMap())
                .containsEntry("status", "error")
                .containsEntry("message", "alias: 'nope' (expected: * or one of default, plain, premium)");
        assertThat(control(channel, "degrade_set", Map.of("alias", "plain", "mode", "fallback")).getPayloadMap())
                .containsEntry("message", "mode: fallback, but alias plain has no fallback targets"
                        + " (expected: set them with routes_set first)");
    }

    @Test
    void theBridgeSaysSoInAHeaderAndNamesTheServingModelAndAnswers503WithRetryAfter() throws Exception {
        gpuDown();
        final HttpClient http = HttpClient.newHttpClient();
        final String base = "http://127.0.0.1:" + stack.coordinator.httpEndpoint().port() + "/v1/chat/completions";

        final HttpResponse<String> ok = http.send(post(base, "default", false), HttpResponse.BodyHandlers.ofString());
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(ok.headers().firstValue("x-cy-degraded")).hasValue(FALLBACK_NO_HEALTHY);
        assertThat(ok.body()).contains("\"model\":\"qwen2.5-0.5b\"");

        final HttpResponse<String> streamed = http.send(post(base, "default", true), HttpResponse.BodyHandlers.ofString());
        assertThat(streamed.statusCode()).isEqualTo(200);
        assertThat(streamed.headers().firstValue("x-cy-degraded")).hasValue(FALLBACK_NO_HEALTHY);
        assertThat(streamed.body()).contains("\"model\":\"qwen2.5-0.5b\"").doesNotContain("\"model\":\"default\"");

        final HttpResponse<String> rejected = http.send(post(base, "premium", false), HttpResponse.BodyHandlers.ofString());
        assertThat(rejected.statusCode()).as(rejected.body()).isEqualTo(503);
        assertThat(rejected.headers().firstValue("Retry-After")).hasValue("1");
    }

    @Test
    void theBridgeAnswers429WithRetryAfterWhenTheQueueRejects() throws Exception {
        // given: gpu-a's one slot taken, and no queue
        final Stream holder = Stream.start(channel, request(1000, Map.of("sim.gap_ms", "20")).toBuilder()
                .setModelId("plain").build(), 1);
        assertThat(holder.awaitChunks()).isTrue();
        final String base = "http://127.0.0.1:" + stack.coordinator.httpEndpoint().port() + "/v1/chat/completions";

        final HttpResponse<String> rejected = HttpClient.newHttpClient().send(post(base, "premium", false),
                HttpResponse.BodyHandlers.ofString());

        assertThat(rejected.statusCode()).as(rejected.body()).isEqualTo(429);
        final long millis = Long.parseLong(rejected.headers().firstValue("retry-after-ms").orElseThrow());
        assertThat(rejected.headers().firstValue("Retry-After")).hasValue(String.valueOf((millis + 999) / 1000));
        assertThat(rejected.body()).contains("queue.max_length");
        holder.cancel();
    }

    private static HttpRequest post(String url, String model, boolean stream) {
        return HttpRequest.newBuilder(URI.create(url))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"stream\":" + stream
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}"))
                .build();
    }

    private CallSummary lastSummary() throws InterruptedException {
        CallSummary last = null;
        for (CallSummary s = stack.summaries.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS); s != null;
             s = stack.summaries.poll(200, TimeUnit.MILLISECONDS)) {
            if (s.method().equals("StreamPredict")) {
                last = s;
            }
        }
        return last;
    }
}
