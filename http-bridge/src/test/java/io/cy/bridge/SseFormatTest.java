package io.cy.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The exact bytes of streamed answers, against a deterministic upstream. */
class SseFormatTest {

    private static final Pattern ID_AND_CREATED = Pattern.compile("\"id\":\"([^\"]+)\",\"object\":\"[^\"]+\",\"created\":(\\d+)");

    private FakeUpstream upstream;
    private BridgeFixture fixture;

    @BeforeEach
    void start() throws Exception {
        upstream = new FakeUpstream();
        fixture = new BridgeFixture(upstream.channel());
    }

    @AfterEach
    void stop() {
        fixture.close();
        upstream.close();
    }

    @Test
    void chatStreamWithUsage() throws Exception {
        final RawHttp.Response r;
        try (RawHttp http = fixture.raw()) {
            r = http.send(RawHttp.post("/v1/chat/completions",
                    "{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4,"
                            + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                    "x-request-id: req-1")).readResponse();
        }

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.headers())
                .containsEntry("content-type", "text/event-stream; charset=utf-8")
                .containsEntry("cache-control", "no-cache")
                .containsEntry("transfer-encoding", "chunked")
                .containsEntry("x-request-id", "req-1");
        final Matcher m = ID_AND_CREATED.matcher(r.body());
        assertThat(m.find()).isTrue();
        final String id = m.group(1);
        final String created = m.group(2);
        assertThat(id).matches("chatcmpl-[A-Za-z0-9]{24}");
        final String head = "{\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":" + created
                + ",\"model\":\"fixed\",";
        // "User: Hi\nAssistant:" is 19 bytes: ceil(19 / 4) = 5 prompt tokens.
        assertThat(r.body()).isEqualTo(""
                + "data: " + head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                + "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
                + "data: " + head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},"
                + "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
                + "data: " + head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\",\"},"
                + "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
                + "data: " + head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},"
                + "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
                + "data: " + head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},"
                + "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
                + "data: " + head + "\"choices\":[{\"index\":0,\"delta\":{},"
                + "\"logprobs\":null,\"finish_reason\":\"length\"}],\"usage\":null}\n\n"
                + "data: " + head + "\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":4,\"total_tokens\":9}}\n\n"
                + "data: [DONE]\n\n");
    }

    @Test
    void chatStreamWithoutUsageHasNoUsageFields() throws Exception {
        final RawHttp.Response r;
        try (RawHttp http = fixture.raw()) {
            r = http.send(RawHttp.post("/v1/chat/completions",
                    "{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true}"))
                    .readResponse();
        }
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).doesNotContain("usage");
        // No max_tokens: the stream ended on its own, so "stop".
        assertThat(r.body()).contains("\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
        assertThat(r.body().split("\n\n")).hasSize(7); // role, 4 contents, finish, [DONE]
    }

    @Test
    void textCompletionStream() throws Exception {
        final RawHttp.Response r;
        try (RawHttp http = fixture.raw()) {
            r = http.send(RawHttp.post("/v1/completions",
                    "{\"model\":\"fixed\",\"prompt\":\"Say hi\",\"max_tokens\":10,\"stream\":true}")).readResponse();
        }
        assertThat(r.status()).isEqualTo(200);
        final Matcher m = ID_AND_CREATED.matcher(r.body());
        assertThat(m.find()).isTrue();
        assertThat(m.group(1)).matches("cmpl-[A-Za-z0-9]{24}");
        final String head = "{\"id\":\"" + m.group(1) + "\",\"object\":\"text_completion\",\"created\":" + m.group(2)
                + ",\"model\":\"fixed\",";
        assertThat(r.body()).isEqualTo(""
                + "data: " + head + "\"choices\":[{\"text\":\"Hello\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n"
                + "data: " + head + "\"choices\":[{\"text\":\",\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n"
                + "data: " + head + "\"choices\":[{\"text\":\" world\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n"
                + "data: " + head + "\"choices\":[{\"text\":\"!\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n"
                + "data: " + head + "\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
                + "data: [DONE]\n\n");
        assertThat(upstream.lastRequest.get().getPrompt()).isEqualTo("Say hi");
    }

    @Test
    void errorAfterTheStreamStartedIsAnErrorEventNotATruncatedSuccess() throws Exception {
        final RawHttp.Response r;
        try (RawHttp http = fixture.raw()) {
            r = http.send(RawHttp.post("/v1/chat/completions",
                    "{\"model\":\"fail-after-1:INTERNAL\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                            + "\"stream\":true}")).readResponse();
        }
        assertThat(r.status()).isEqualTo(200); // the head went out with the first chunk
        assertThat(r.body())
                .contains("\"delta\":{\"content\":\"Hello\"}")
                .endsWith("event: error\ndata: {\"error\":{\"message\":\"simulated INTERNAL\",\"type\":\"server_error\","
                        + "\"param\":null,\"code\":\"internal_error\"}}\n\n")
                .doesNotContain("[DONE]")
                .doesNotContain("finish_reason\":\"");
    }

    @Test
    void streamEndingWithoutEndOfStreamIsAnError() throws Exception {
        final RawHttp.Response r;
        try (RawHttp http = fixture.raw()) {
            r = http.send(RawHttp.post("/v1/chat/completions",
                    "{\"model\":\"no-eos\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true}"))
                    .readResponse();
        }
        assertThat(r.body())
                .contains("event: error\ndata: {\"error\":{\"message\":\"upstream ended the stream without end_of_stream"
                        + " after 4 chunks\",\"type\":\"server_error\",\"param\":null,\"code\":\"upstream_error\"}}\n\n")
                .doesNotContain("[DONE]");
    }

    @Test
    void errorBeforeTheFirstChunkIsAnHttpErrorEvenWhenStreaming() throws Exception {
        final RawHttp.Response r;
        try (RawHttp http = fixture.raw()) {
            r = http.send(RawHttp.post("/v1/chat/completions",
                    "{\"model\":\"fail:NOT_FOUND\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true}"))
                    .readResponse();
        }
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.headers()).containsEntry("content-type", "application/json");
        assertThat(r.body()).isEqualTo("{\"error\":{\"message\":\"simulated NOT_FOUND\",\"type\":\"invalid_request_error\","
                + "\"param\":null,\"code\":\"not_found\"}}");
    }

    @Test
    void stopSequenceSplitAcrossChunksCutsTheStream() throws Exception {
        final RawHttp.Response r;
        try (RawHttp http = fixture.raw()) {
            r = http.send(RawHttp.post("/v1/chat/completions",
                    "{\"model\":\"fixed\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true,"
                            + "\"stop\":[\"xyz\",\", wor\"]}")).readResponse();
        }
        // "Hello" goes out at once; "," is held (it may start ", wor"), then " world" completes the match.
        assertThat(r.body())
                .contains("\"delta\":{\"content\":\"Hello\"}")
                .doesNotContain("\"delta\":{\"content\":\",\"}")
                .doesNotContain("world")
                .contains("\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    }
}
