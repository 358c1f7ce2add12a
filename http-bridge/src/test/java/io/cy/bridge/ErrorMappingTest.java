package io.cy.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every upstream status as the HTTP answer the status table promises, in OpenAI's error envelope. */
class ErrorMappingTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static FakeUpstream upstream;
    private static BridgeFixture fixture;

    @BeforeAll
    static void start() throws Exception {
        upstream = new FakeUpstream();
        fixture = new BridgeFixture(upstream.channel());
    }

    @AfterAll
    static void stop() {
        fixture.close();
        upstream.close();
    }

    static Stream<Arguments> statuses() {
        return Stream.of(
                Arguments.of("INVALID_ARGUMENT", 400, "invalid_request_error", "invalid_argument"),
                Arguments.of("PERMISSION_DENIED", 403, "permission_error", "permission_denied"),
                Arguments.of("NOT_FOUND", 404, "invalid_request_error", "not_found"),
                Arguments.of("RESOURCE_EXHAUSTED", 429, "rate_limit_error", "rate_limit_exceeded"),
                Arguments.of("UNAVAILABLE", 503, "server_error", "unavailable"),
                Arguments.of("DEADLINE_EXCEEDED", 504, "server_error", "timeout"),
                Arguments.of("INTERNAL", 500, "server_error", "internal_error"),
                Arguments.of("DATA_LOSS", 500, "server_error", "internal_error"),
                Arguments.of("UNKNOWN", 502, "server_error", "upstream_error"),
                Arguments.of("UNIMPLEMENTED", 502, "server_error", "upstream_error"),
                Arguments.of("FAILED_PRECONDITION", 502, "server_error", "upstream_error"));
    }

    @Test
    void aModelTheCoordinatorCannotResolveIsModelNotFound() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"unrouted\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");

        assertThat(r.statusCode()).isEqualTo(404);
        final JsonNode error = json.readTree(r.body()).get("error");
        assertThat(error.get("code").asText()).isEqualTo("model_not_found");
        assertThat(error.get("param").asText()).isEqualTo("model");
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.get("message").asText()).isEqualTo("unknown model \"unrouted\" (aliases: default; backends: gpu-a)");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("statuses")
    void upstreamStatusBecomesHttpStatus(String code, int http, String type, String errorCode) throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"fail:" + code + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
                "x-request-id", "trace-" + code);

        assertThat(r.statusCode()).isEqualTo(http);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        assertThat(r.headers().firstValue("x-request-id")).hasValue("trace-" + code);
        final JsonNode error = json.readTree(r.body()).get("error");
        assertThat(error.get("type").asText()).isEqualTo(type);
        assertThat(error.get("code").asText()).isEqualTo(errorCode);
        assertThat(error.get("param").isNull()).isTrue();
        assertThat(error.get("message").asText()).endsWith("simulated " + code);
    }

    @Test
    void resourceExhaustedCarriesRetryAfterFromTrailers() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"fail:RESOURCE_EXHAUSTED\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(429);
        // retry-after-ms: 1500 → whole seconds rounded up.
        assertThat(r.headers().firstValue("retry-after")).hasValue("2");
        assertThat(r.headers().firstValue("retry-after-ms")).hasValue("1500");
    }

    @Test
    void unavailableCarriesRetryAfterFromPushback() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"fail:UNAVAILABLE\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.headers().firstValue("retry-after")).hasValue("3");
        assertThat(r.headers().firstValue("retry-after-ms")).hasValue("2500");
    }

    @Test
    void statusesWithoutRetryTrailersHaveNoRetryAfter() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"fail:INTERNAL\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        assertThat(r.headers().firstValue("retry-after")).isEmpty();
    }

    @Test
    void unauthenticatedIs401WithBearerChallenge() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
                "Authorization", "Bearer bad");
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("www-authenticate")).hasValue("Bearer");
        assertThat(r.body()).isEqualTo("{\"error\":{\"message\":\"invalid token\",\"type\":\"authentication_error\","
                + "\"param\":null,\"code\":\"invalid_api_key\"}}");
    }

    @Test
    void streamingRequestFailingBeforeTheFirstChunkGetsTheSameStatus() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"fail:RESOURCE_EXHAUSTED\",\"stream\":true,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(r.headers().firstValue("retry-after")).hasValue("2");
        assertThat(json.readTree(r.body()).get("error").get("type").asText()).isEqualTo("rate_limit_error");
    }

    @Test
    void errorAfterTheFirstChunkOfANonStreamingRequestIsStillAnError() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"fail-after-1:UNAVAILABLE\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).doesNotContain("Hello");
    }
}
