package io.cy.bridge;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP side: answers, refusals as JSON, request ids, keep-alive, health endpoints. */
class HttpProtocolTest {

    private static final String CHAT = "{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    private static final int MAX_BODY = 1024;

    private final ObjectMapper json = new ObjectMapper();
    private FakeUpstream upstream;
    private BridgeFixture fixture;

    @BeforeEach
    void start() throws Exception {
        upstream = new FakeUpstream();
        fixture = new BridgeFixture(upstream.channel(), c -> c.withMaxBodyBytes(MAX_BODY));
    }

    @AfterEach
    void stop() {
        fixture.close();
        upstream.close();
    }

    @Test
    void chatCompletion() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4}");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        final JsonNode body = json.readTree(r.body());
        assertThat(body.get("id").asText()).matches("chatcmpl-[A-Za-z0-9]{24}");
        assertThat(body.get("object").asText()).isEqualTo("chat.completion");
        assertThat(body.get("created").asLong()).isPositive();
        assertThat(body.get("model").asText()).isEqualTo("fixed");
        final JsonNode choice = body.get("choices").get(0);
        assertThat(choice.get("index").asInt()).isZero();
        assertThat(choice.get("message").get("role").asText()).isEqualTo("assistant");
        assertThat(choice.get("message").get("content").asText()).isEqualTo("Hello, world!");
        assertThat(choice.get("finish_reason").asText()).isEqualTo("length"); // 4 chunks for max_tokens 4
        assertThat(body.get("usage").toString())
                .isEqualTo("{\"prompt_tokens\":5,\"completion_tokens\":4,\"total_tokens\":9}");
    }

    @Test
    void finishReasonIsStopWhenTheStreamEndsBeforeMaxTokens() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_completion_tokens\":5}");
        assertThat(json.readTree(r.body()).get("choices").get(0).get("finish_reason").asText()).isEqualTo("stop");
        assertThat(upstream.lastRequest.get().getGeneration().getMaxNewTokens()).isEqualTo(5);
    }

    @Test
    void stopSequenceCutsTheAnswer() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4,"
                        + "\"stop\":\" world\"}");
        final JsonNode choice = json.readTree(r.body()).get("choices").get(0);
        assertThat(choice.get("message").get("content").asText()).isEqualTo("Hello,");
        assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
    }

    @Test
    void textCompletion() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/completions", "{\"model\":\"fixed\",\"prompt\":[\"Once\"]}");
        assertThat(r.statusCode()).isEqualTo(200);
        final JsonNode body = json.readTree(r.body());
        assertThat(body.get("object").asText()).isEqualTo("text_completion");
        assertThat(body.get("id").asText()).startsWith("cmpl-");
        assertThat(body.get("choices").get(0).toString())
                .isEqualTo("{\"text\":\"Hello, world!\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}");
        assertThat(upstream.lastRequest.get().getPrompt()).isEqualTo("Once");
    }

    @Test
    void requestIdIsPassedUpstreamAndReturned() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions", CHAT, "x-request-id", "abc-123");
        assertThat(r.headers().firstValue("x-request-id")).hasValue("abc-123");
        assertThat(upstream.lastRequest.get().getMetadata().getTraceId()).isEqualTo("abc-123");
        assertThat(upstream.lastHeader("trace-id")).isEqualTo("abc-123");
    }

    @Test
    void missingOrUnusableRequestIdIsReplacedByANewOne() throws Exception {
        final HttpResponse<String> none = fixture.post("/v1/chat/completions", CHAT);
        final String generated = none.headers().firstValue("x-request-id").orElseThrow();
        assertThat(generated).matches("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
        assertThat(upstream.lastRequest.get().getMetadata().getTraceId()).isEqualTo(generated);

        final HttpResponse<String> tooLong = fixture.post("/v1/chat/completions", CHAT, "x-request-id", "x".repeat(129));
        assertThat(tooLong.headers().firstValue("x-request-id").orElseThrow()).hasSize(36);
    }

    @Test
    void headersPassedUpstream() throws Exception {
        fixture.post("/v1/chat/completions", CHAT, "Authorization", "Bearer good");
        assertThat(upstream.lastHeader("authorization")).isEqualTo("Bearer good");
        assertThat(upstream.lastHeader("cy-api")).isEqualTo("http");
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        final String big = "{\"model\":\"fixed\",\"prompt\":\"" + "x".repeat(MAX_BODY) + "\"}";
        final HttpResponse<String> r = fixture.post("/v1/completions", big, "x-request-id", "big-1");
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(r.headers().firstValue("x-request-id")).hasValue("big-1");
        assertThat(json.readTree(r.body()).get("error").get("message").asText())
                .isEqualTo("request body larger than 1024 bytes (expected: <= 1024)");
        assertThat(upstream.lastRequest.get()).isNull();
    }

    @Test
    void bodyAnnouncedTooLargeIsRefusedAndTheConnectionStaysUsable() throws Exception {
        final String big = "{\"model\":\"fixed\",\"prompt\":\"" + "x".repeat(MAX_BODY) + "\"}";
        try (RawHttp http = fixture.raw()) {
            final RawHttp.Response refused = http.send(RawHttp.post("/v1/completions", big)).readResponse();
            assertThat(refused.status()).isEqualTo(413);
            assertThat(refused.headers()).doesNotContainKey("connection");
            assertThat(json.readTree(refused.body()).get("error").get("code").asText()).isEqualTo("request_too_large");

            final RawHttp.Response next = http.send(RawHttp.post("/v1/chat/completions", CHAT)).readResponse();
            assertThat(next.status()).isEqualTo(200);
        }
    }

    @Test
    void chunkedBodyOverTheLimitIs413AndCloses() throws Exception {
        try (RawHttp http = fixture.raw()) {
            final String part = "x".repeat(600);
            http.send("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n"
                    + Integer.toHexString(part.length()) + "\r\n" + part + "\r\n"
                    + Integer.toHexString(part.length()) + "\r\n" + part + "\r\n0\r\n\r\n");
            final RawHttp.Response r = http.readResponse();
            assertThat(r.status()).isEqualTo(413);
            assertThat(r.headers()).containsEntry("connection", "close");
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void expectContinueWithATooLargeBodyIs413WithoutReadingIt() throws Exception {
        try (RawHttp http = fixture.raw()) {
            http.send("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
            final RawHttp.Response r = http.readResponse();
            assertThat(r.status()).isEqualTo(413);
            assertThat(r.body()).contains("request_too_large");
        }
    }

    @Test
    void wrongContentTypeIs415() throws Exception {
        final HttpResponse<String> r = fixture.client.send(HttpRequest.newBuilder(fixture.uri("/v1/chat/completions"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("model=fixed")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(415);
        assertThat(r.body()).isEqualTo("{\"error\":{\"message\":\"Content-Type: application/x-www-form-urlencoded"
                + " (expected: application/json)\",\"type\":\"invalid_request_error\",\"param\":null,"
                + "\"code\":\"unsupported_media_type\"}}");
    }

    @Test
    void jsonWithCharsetIsAccepted() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions", CHAT, "Content-Type",
                "application/json; charset=utf-8");
        assertThat(r.statusCode()).isEqualTo(200);
    }

    @Test
    void wrongMethodIs405WithAllow() throws Exception {
        final HttpResponse<String> r = fixture.get("/v1/chat/completions");
        assertThat(r.statusCode()).isEqualTo(405);
        assertThat(r.headers().firstValue("allow")).hasValue("POST");
        assertThat(json.readTree(r.body()).get("error").get("message").asText())
                .isEqualTo("method GET not allowed for /v1/chat/completions (expected: POST)");

        final HttpResponse<String> post = fixture.post("/v1/models", "{}");
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("allow")).hasValue("GET");
    }

    @Test
    void unknownPathIs404() throws Exception {
        final HttpResponse<String> r = fixture.get("/v2/chat?x=1", "x-request-id", "nf-1");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.headers().firstValue("x-request-id")).hasValue("nf-1");
        assertThat(r.body()).isEqualTo("{\"error\":{\"message\":\"Invalid URL (GET /v2/chat)\","
                + "\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"unknown_url\"}}");
    }

    @Test
    void invalidJsonSaysWhereItBroke() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions", "{\"model\":\"fixed\",\n \"messages\": [}");
        assertThat(r.statusCode()).isEqualTo(400);
        final JsonNode error = json.readTree(r.body()).get("error");
        assertThat(error.get("code").asText()).isEqualTo("invalid_json");
        assertThat(error.get("message").asText()).startsWith("invalid JSON at line 2, column 15: Unexpected close marker '}'");
    }

    @Test
    void truncatedJsonSaysWhereItBroke() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions", "{\"model\":\"fixed\"");
        assertThat(json.readTree(r.body()).get("error").get("message").asText())
                .startsWith("invalid JSON at line 1, column 17: Unexpected end-of-input")
                .doesNotContain("Source");
    }

    @Test
    void trailingGarbageAndNonObjectsAreRefused() throws Exception {
        assertThat(json.readTree(fixture.post("/v1/chat/completions", CHAT + " x").body()).get("error")
                .get("message").asText()).startsWith("invalid JSON at line 1");
        assertThat(json.readTree(fixture.post("/v1/chat/completions", "[1]").body()).get("error")
                .get("message").asText()).isEqualTo("body: [1] (expected: a JSON object)");
        assertThat(json.readTree(fixture.post("/v1/chat/completions", "").body()).get("error")
                .get("message").asText()).isEqualTo("body: empty (expected: a JSON object)");
    }

    @Test
    void rejectedParameterIsNamed() throws Exception {
        final HttpResponse<String> r = fixture.post("/v1/chat/completions",
                "{\"model\":\"fixed\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("{\"error\":{\"message\":\"n: 2 (expected: 1)\",\"type\":\"invalid_request_error\","
                + "\"param\":\"n\",\"code\":\"unsupported_parameter\"}}");
        assertThat(upstream.lastRequest.get()).isNull();
    }

    @Test
    void keepAliveServesSeveralRequestsOnOneConnection() throws Exception {
        try (RawHttp http = fixture.raw()) {
            for (int i = 0; i < 3; i++) {
                final RawHttp.Response r = http.send(RawHttp.post("/v1/chat/completions", CHAT)).readResponse();
                assertThat(r.status()).isEqualTo(200);
            }
            final RawHttp.Response last = http.send(RawHttp.post("/v1/chat/completions", CHAT, "Connection: close"))
                    .readResponse();
            assertThat(last.headers()).containsEntry("connection", "close");
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        try (RawHttp http = fixture.raw()) {
            http.send(RawHttp.post("/v1/chat/completions", CHAT, "x-request-id: first")
                    + "GET /healthz HTTP/1.1\r\nHost: localhost\r\nx-request-id: second\r\n\r\n"
                    + RawHttp.post("/v1/chat/completions", CHAT, "x-request-id: third"));
            assertThat(List.of(http.readResponse(), http.readResponse(), http.readResponse()))
                    .extracting(r -> r.headers().get("x-request-id"))
                    .containsExactly("first", "second", "third");
        }
    }

    @Test
    void http10WithoutKeepAliveCloses() throws Exception {
        try (RawHttp http = fixture.raw()) {
            final RawHttp.Response r = http.send("GET /healthz HTTP/1.0\r\n\r\n").readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void malformedRequestIs400AndCloses() throws Exception {
        try (RawHttp http = fixture.raw()) {
            final RawHttp.Response r = http.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n")
                    .readResponse();
            assertThat(r.status()).isEqualTo(400);
            assertThat(json.readTree(r.body()).get("error").get("code").asText()).isEqualTo("malformed_request");
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void healthz() throws Exception {
        final HttpResponse<String> r = fixture.get("/healthz");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("{\"status\":\"ok\"}");
    }

    @Test
    void readyzFollowsTheUpstreamsHealth() throws Exception {
        assertThat(fixture.get("/readyz").statusCode()).isEqualTo(200);
        upstream.healthy = false;
        final HttpResponse<String> r = fixture.get("/readyz");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(json.readTree(r.body()).get("error").get("message").asText()).isEqualTo("upstream not healthy");
    }

    @Test
    void modelsComeFromTheUpstreamWithTheCallersCredential() throws Exception {
        final HttpResponse<String> r = fixture.get("/v1/models", "Authorization", "Bearer good");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("{\"object\":\"list\",\"data\":["
                + "{\"id\":\"alpha\",\"object\":\"model\",\"created\":0,\"owned_by\":\"cy\"},"
                + "{\"id\":\"beta\",\"object\":\"model\",\"created\":0,\"owned_by\":\"cy\"}]}");
        assertThat(upstream.lastHeader("authorization")).isEqualTo("Bearer good");
        assertThat(upstream.lastHeader("cy-api")).isEqualTo("http");

        final HttpResponse<String> refused = fixture.get("/v1/models", "Authorization", "Bearer bad");
        assertThat(refused.statusCode()).isEqualTo(401);
    }

    @Test
    void configuredModelsAreListedWithoutAskingTheUpstream() throws Exception {
        try (BridgeFixture configured = new BridgeFixture(upstream.channel(), c -> c.withModels(List.of("qwen")))) {
            final HttpResponse<String> r = configured.get("/v1/models", "Authorization", "Bearer bad");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("{\"object\":\"list\",\"data\":["
                    + "{\"id\":\"qwen\",\"object\":\"model\",\"created\":0,\"owned_by\":\"cy\"}]}");
            assertThat(upstream.lastHeaders.get()).isNull();
        }
    }

    @Test
    void readyzWithoutTheCheckAsksNobody() throws Exception {
        upstream.healthy = false;
        try (BridgeFixture unchecked = new BridgeFixture(upstream.channel(), c -> c.withReadyCheck(false))) {
            assertThat(unchecked.get("/readyz").body()).isEqualTo("{\"status\":\"ready\"}");
        }
    }

    @Test
    void utf8SurvivesBothWays() throws Exception {
        upstream.chunks = List.of("h\u00e9", "llo \ud83d\ude00");
        final HttpResponse<String> r = fixture.client.send(HttpRequest.newBuilder(fixture.uri("/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"gr\u00fc\u00df\"}]}", UTF_8))
                .build(), HttpResponse.BodyHandlers.ofString(UTF_8));
        assertThat(json.readTree(r.body()).get("choices").get(0).get("message").get("content").asText())
                .isEqualTo("h\u00e9llo \ud83d\ude00");
        assertThat(upstream.lastRequest.get().getPrompt()).isEqualTo("User: gr\u00fc\u00df\nAssistant:");
    }
}
