package io.cy.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Keys;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin listener of a running coordinator: {@code /metrics} after real calls over gRPC and
 * HTTP (names, labels, values, both formats), {@code /healthz}, {@code /readyz}, and the Grafana
 * dashboard's expressions against the scrape.
 */
class MetricsEndpointTest {

    private static final String SECRET = "metrics-endpoint-secret-0123456789abcdef";
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    static Path dir;

    private static TestStack stack;
    private static HttpClient http;
    private static String scrape;

    @BeforeAll
    static void start() throws Exception {
        stack = TestStack.start(dir, 1, sim -> sim.models(List.of("sim")), """
                http:
                  models: [sim]
                quota:
                  tenants:
                    limited: {requests_per_minute: 1}
                """, Map.of("CY_AUTH_MODE", "required", "CY_AUTH_HMAC_SECRET", SECRET));
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

        final var channel = stack.coordinatorChannel();
        assertThat(TestStack.call(channel, request("sim", 5), bearer("acme"), null).status().getCode())
                .isEqualTo(Status.Code.OK);
        assertThat(TestStack.call(channel, request("made-up-model", 5), bearer("acme"), null).status().getCode())
                .isEqualTo(Status.Code.NOT_FOUND);
        assertThat(TestStack.call(channel, request("sim", 1), new Metadata(), null).status().getCode())
                .isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(TestStack.call(channel, request("sim", 1), bearer("limited"), null).status().getCode())
                .isEqualTo(Status.Code.OK);
        assertThat(TestStack.call(channel, request("sim", 1), bearer("limited"), null).status().getCode())
                .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        final HttpResponse<String> chat = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + stack.coordinator.httpEndpoint().port() + "/v1/chat/completions"))
                .header("Authorization", "Bearer " + token("acme"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"sim\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":3}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
        // Every call has ended once its summary is out; the metrics are updated in the same listener chain.
        for (int i = 0; i < 6; i++) {
            assertThat(stack.summaries.poll(20, java.util.concurrent.TimeUnit.SECONDS)).isNotNull();
        }
        final HttpResponse<String> response = get("/metrics", null);
        assertThat(response.statusCode()).isEqualTo(200);
        scrape = response.body();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void requestsAreCountedByApiModelBackendAndCode() {
        final Map<String, Double> samples = samples(scrape);
        assertThat(samples).containsEntry(
                "llmproxy_requests_total{api=\"grpc\",backend=\"default\",code=\"OK\",model=\"sim\"}", 2.0);
        // A model no configuration names is "unknown": clients cannot add series by inventing names.
        assertThat(samples).containsEntry(
                "llmproxy_requests_total{api=\"grpc\",backend=\"default\",code=\"NOT_FOUND\",model=\"unknown\"}", 1.0);
        assertThat(samples).containsEntry(
                "llmproxy_requests_total{api=\"grpc\",backend=\"default\",code=\"RESOURCE_EXHAUSTED\",model=\"sim\"}",
                1.0);
        assertThat(samples).containsEntry(
                "llmproxy_requests_total{api=\"http\",backend=\"default\",code=\"OK\",model=\"sim\"}", 1.0);
        assertThat(scrape).contains("# TYPE llmproxy_requests_total counter");
    }

    @Test
    void latencyIsAHistogramInMillisecondsFrom1To60000() {
        final Map<String, Double> samples = samples(scrape);
        assertThat(scrape).contains("# TYPE llmproxy_latency_ms histogram");
        assertThat(samples).containsKey(
                "llmproxy_latency_ms_bucket{api=\"grpc\",backend=\"default\",le=\"1.0\",model=\"sim\"}");
        assertThat(samples).containsEntry(
                "llmproxy_latency_ms_bucket{api=\"grpc\",backend=\"default\",le=\"60000.0\",model=\"sim\"}", 3.0);
        assertThat(samples).containsEntry("llmproxy_latency_ms_count{api=\"http\",backend=\"default\",model=\"sim\"}",
                1.0);
        assertThat(samples).containsEntry("cy_ttft_seconds_count{backend=\"default\",model=\"sim\"}", 3.0);
    }

    @Test
    void tokensRejectionsAndAuthFailuresHaveTheirLabels() {
        final Map<String, Double> samples = samples(scrape);
        // 5 chunks over gRPC and 3 over HTTP for acme; 1 for limited.
        assertThat(samples).containsEntry("cy_tokens_total{kind=\"completion\",model=\"sim\",tenant=\"acme\"}", 8.0);
        assertThat(samples).containsKey("cy_tokens_total{kind=\"prompt\",model=\"sim\",tenant=\"acme\"}");
        assertThat(samples).containsEntry(
                "cy_quota_rejections_total{reason=\"requests_per_minute\",tenant=\"limited\"}", 1.0);
        assertThat(samples).containsEntry("cy_auth_failures_total{reason=\"missing_credentials\"}", 1.0);
    }

    @Test
    void gaugesComeFromTheSidecarsTheAuditLogAndTheRuntime() {
        final Map<String, Double> samples = samples(scrape);
        final String sidecar = stack.sim().target();
        assertThat(samples).containsEntry("cy_inflight{backend=\"default\",sidecar=\"" + sidecar + "\"}", 0.0);
        assertThat(samples).containsEntry("cy_sidecar_up{backend=\"default\",sidecar=\"" + sidecar + "\"}", 1.0);
        assertThat(samples).containsEntry("cy_route_version", 1.0);
        assertThat(samples).containsKey("cy_audit_queue_depth");
        assertThat(samples).containsKey("cy_audit_events_total{outcome=\"written\"}");
        assertThat(samples).containsKey("cy_audit_events_total{outcome=\"spooled\"}");
        assertThat(samples).containsKey("cy_audit_events_total{outcome=\"dropped\"}");
        assertThat(samples).containsKey("llmproxy_webhook_success_total");
        // Tracing is off here: nothing to drop, but the series is there for alerts.
        assertThat(samples).containsEntry("cy_trace_spans_dropped_total", 0.0);
        assertThat(samples).containsEntry("llmproxy_webhook_failure_total{reason=\"dropped\"}", 0.0);
        assertThat(samples.keySet()).noneMatch(k -> k.startsWith("cy_degraded_total"));
        assertThat(samples.keySet()).anyMatch(k -> k.startsWith("jvm_memory_used_bytes{"));
        assertThat(samples).containsKey("netty_direct_memory_used_bytes");
    }

    @Test
    void openMetricsIsServedToScrapersThatAskForIt() throws Exception {
        final HttpResponse<String> response = get("/metrics", "application/openmetrics-text; version=1.0.0");

        assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("application/openmetrics-text"));
        assertThat(response.body()).contains("llmproxy_requests_total{").endsWith("# EOF\n");
        assertThat(get("/metrics", null).headers().firstValue("content-type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("text/plain; version=0.0.4"));
    }

    @Test
    void healthAndReadinessAnswerAndOtherPathsDoNot() throws Exception {
        assertThat(get("/healthz", null).statusCode()).isEqualTo(200);
        final HttpResponse<String> ready = get("/readyz", null);
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(get("/nothing", null).statusCode()).isEqualTo(404);
        final HttpResponse<String> post = http.send(HttpRequest.newBuilder(admin("/metrics"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.body()).contains("POST").contains("expected: GET");
    }

    @Test
    void everyMetricTheDashboardQueriesIsInTheScrape() throws Exception {
        final String dashboard = Files.readString(dashboardFile());
        final Set<String> used = new TreeSet<>();
        final Matcher expr = Pattern.compile("\"expr\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(dashboard);
        while (expr.find()) {
            final Matcher name = Pattern.compile("\\b((?:llmproxy|cy|jvm|netty)_[a-z0-9_]+)").matcher(expr.group(1));
            while (name.find()) {
                used.add(name.group(1));
            }
        }
        assertThat(used).as("metric names in the dashboard").hasSizeGreaterThan(8);
        final Set<String> scraped = new TreeSet<>();
        for (String line : scrape.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                final String family = line.split(" ")[2];
                scraped.add(family);
                for (String suffix : List.of("_bucket", "_count", "_sum", "_total", "_created")) {
                    scraped.add(family + suffix);
                }
            }
        }
        assertThat(scraped).containsAll(used);
    }

    private static Path dashboardFile() {
        Path here = Path.of("").toAbsolutePath();
        while (here != null && !Files.exists(here.resolve("docker/grafana/cy-coordinator.json"))) {
            here = here.getParent();
        }
        assertThat(here).as("docker/grafana/cy-coordinator.json above the working directory").isNotNull();
        return here.resolve("docker/grafana/cy-coordinator.json");
    }

    /** Each sample line of the text format, as {@code name{labels}} (labels sorted by name) to value. */
    static Map<String, Double> samples(String text) {
        final Map<String, Double> samples = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            final int space = line.lastIndexOf(' ');
            String key = line.substring(0, space);
            final int brace = key.indexOf('{');
            if (brace >= 0) {
                final TreeSet<String> labels = new TreeSet<>(List.of(
                        key.substring(brace + 1, key.length() - 1).split(",(?=[a-z_]+=\")")));
                key = key.substring(0, brace) + "{" + String.join(",", labels) + "}";
            }
            samples.put(key, Double.parseDouble(line.substring(space + 1)));
        }
        return samples;
    }

    private static HttpResponse<String> get(String path, String accept) throws Exception {
        final HttpRequest.Builder request = HttpRequest.newBuilder(admin(path)).timeout(Duration.ofSeconds(20)).GET();
        if (accept != null) {
            request.header("Accept", accept);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static URI admin(String path) {
        return URI.create("http://127.0.0.1:" + stack.coordinator.adminEndpoint().port() + path);
    }

    private static StreamPredictRequest request(String model, int maxNewTokens) {
        return TestStack.request(maxNewTokens).toBuilder().setModelId(model).build();
    }

    private static Metadata bearer(String tenant) {
        final Metadata headers = new Metadata();
        headers.put(AUTHORIZATION, "Bearer " + token(tenant));
        return headers;
    }

    private static String token(String tenant) {
        return Jwts.builder().subject("user-" + tenant).claim("tenant", tenant).claim("roles", List.of("user"))
                .issuedAt(new Date()).expiration(Date.from(Instant.now().plusSeconds(600)))
                .signWith(Keys.hmacShaKeyFor(SECRET.getBytes(StandardCharsets.UTF_8)), Jwts.SIG.HS256).compact();
    }
}
