package io.cy.coordinator;

import static io.cy.coordinator.AuthCalls.sha256Hex;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.grpc.Metadata;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The usage webhook of a running coordinator: what a gRPC call and HTTP calls with and without
 * {@code stream: true} send, under an API key, and the delivery counted in {@code /metrics}.
 */
class UsageWebhookIntegrationTest {

    private static final String API_KEY = "cy-usage-test-key-0123456789";
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    private static HttpServer receiver;
    private static final BlockingQueue<JsonNode> received = new ArrayBlockingQueue<>(100);
    private static TestStack stack;
    private static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        receiver.createContext("/usage", exchange -> {
            received.add(JSON.readTree(exchange.getRequestBody().readAllBytes()));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
        stack = TestStack.start(dir, 1, sim -> { }, """
                auth:
                  api_keys:
                    - {name: billing, sha256: "%s", tenant: acme, roles: [user]}
                """.formatted(sha256Hex(API_KEY)), Map.of("CY_AUTH_MODE", "required",
                "CY_USAGE_WEBHOOK_URL", "http://127.0.0.1:" + receiver.getAddress().getPort() + "/usage"));
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
        if (receiver != null) {
            receiver.stop(0);
        }
    }

    @Test
    void aGrpcCallIsAStreamOnTheGrpcEndpointUnderTheKeysName() throws Exception {
        received.clear();
        final Metadata headers = new Metadata();
        headers.put(AUTHORIZATION, "Bearer " + API_KEY);

        final TestStack.Result result = TestStack.call(stack.coordinatorChannel(), TestStack.request(4), headers, null);

        assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
        final JsonNode usage = received.poll(20, TimeUnit.SECONDS);
        assertThat(usage).isNotNull();
        assertThat(usage.get("request_id").asText()).isEqualTo(result.traceIdHeader());
        assertThat(usage.get("user_id").asText()).isEqualTo("billing");
        assertThat(usage.get("api_key").asText()).isEqualTo("billing").isNotEqualTo(API_KEY);
        assertThat(usage.get("completion_tokens").asLong()).isEqualTo(4);
        assertThat(usage.get("total_tokens").asLong())
                .isEqualTo(usage.get("prompt_tokens").asLong() + 4);
        assertThat(usage.get("is_stream").asBoolean()).isTrue();
        assertThat(usage.get("endpoint").asText()).isEqualTo("/cy.llm.AiInference/StreamPredict");
        assertThat(usage.get("backend_url").asText()).isEqualTo(stack.sim().target());
        assertThat(usage.get("tenant").asText()).isEqualTo("acme");
        assertThat(usage.get("status").asText()).isEqualTo("OK");
        assertThat(usage.get("model").asText()).isEqualTo("sim");
    }

    @Test
    void httpCallsSayWhetherTheyStreamed() throws Exception {
        received.clear();

        assertThat(chat(false).statusCode()).isEqualTo(200);
        final JsonNode collected = received.poll(20, TimeUnit.SECONDS);
        assertThat(chat(true).statusCode()).isEqualTo(200);
        final JsonNode streamed = received.poll(20, TimeUnit.SECONDS);

        assertThat(collected.get("endpoint").asText()).isEqualTo("/v1/chat/completions");
        assertThat(collected.get("is_stream").asBoolean()).isFalse();
        assertThat(streamed.get("endpoint").asText()).isEqualTo("/v1/chat/completions");
        assertThat(streamed.get("is_stream").asBoolean()).isTrue();
    }

    @Test
    void deliveriesAreCountedInMetrics() throws Exception {
        received.clear();
        assertThat(chat(false).statusCode()).isEqualTo(200);
        assertThat(received.poll(20, TimeUnit.SECONDS)).isNotNull();

        // Counted just after the receiver answered, on the webhook's thread.
        Eventually.await("llmproxy_webhook_success_total >= 1", Duration.ofSeconds(20),
                () -> scrape().getOrDefault("llmproxy_webhook_success_total", 0.0) >= 1.0);
        assertThat(scrape()).containsEntry("llmproxy_webhook_failure_total{reason=\"http_5xx\"}", 0.0);
    }

    private static Map<String, Double> scrape() {
        try {
            return MetricsEndpointTest.samples(http.send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:" + stack.coordinator.adminEndpoint().port() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static HttpResponse<String> chat(boolean stream) throws Exception {
        return http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + stack.coordinator.httpEndpoint().port() + "/v1/chat/completions"))
                .header("Authorization", "Bearer " + API_KEY)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"sim\",\"messages\":[{\"role\":\"user\","
                        + "\"content\":\"Hi\"}],\"max_tokens\":2" + (stream ? ",\"stream\":true" : "") + "}"))
                .build(), HttpResponse.BodyHandlers.ofString());
    }
}
