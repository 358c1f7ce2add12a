package io.cy.bridge.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cy.llm.proto.StreamPredictRequest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** OpenAI request bodies to StreamPredict requests, and the refusals that name the field. */
class RequestParserTest {

    private final ObjectMapper json = new ObjectMapper();
    private final RequestParser parser = new RequestParser(model -> switch (model) {
        case "qwen" -> ChatTemplate.CHATML;
        case "llama" -> ChatTemplate.LLAMA3;
        default -> ChatTemplate.PLAIN;
    });

    @Test
    void integrationGuideExample() throws Exception {
        final CompletionRequest r = chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
                + "\"max_tokens\":256,\"temperature\":0.7}");
        final StreamPredictRequest up = r.toUpstream("trace-1");

        assertThat(up.getModelId()).isEqualTo("m");
        assertThat(up.getPrompt()).isEqualTo("User: Hello\nAssistant:");
        assertThat(up.getGeneration().getMaxNewTokens()).isEqualTo(256);
        assertThat(up.getGeneration().getTemperature()).isEqualTo(0.7);
        assertThat(up.getGeneration().getTopP()).isEqualTo(0.9);
        assertThat(up.getGeneration().getRepetitionPenalty()).isEqualTo(1.0);
        assertThat(up.getMetadata().getTraceId()).isEqualTo("trace-1");
        assertThat(r.stream()).isFalse();
    }

    @Test
    void plainTemplateRendersEveryRole() throws Exception {
        final CompletionRequest r = chat("{\"model\":\"m\",\"messages\":["
                + "{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"Hi\"},"
                + "{\"role\":\"assistant\",\"content\":\"Hello!\"},"
                + "{\"role\":\"developer\",\"content\":\"No emoji.\"},"
                + "{\"role\":\"user\",\"content\":\"How are you?\"}]}");
        assertThat(r.prompt()).isEqualTo("System: Be brief.\nUser: Hi\nAssistant: Hello!\nSystem: No emoji.\n"
                + "User: How are you?\nAssistant:");
    }

    @Test
    void chatmlTemplate() throws Exception {
        final CompletionRequest r = chat("{\"model\":\"qwen\",\"messages\":["
                + "{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}]}");
        assertThat(r.prompt()).isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void llama3Template() throws Exception {
        final CompletionRequest r = chat("{\"model\":\"llama\",\"messages\":["
                + "{\"role\":\"system\",\"content\":\" Be brief. \"},{\"role\":\"user\",\"content\":\"Hi\"}]}");
        assertThat(r.prompt()).isEqualTo("<|begin_of_text|>"
                + "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void contentAsTextParts() throws Exception {
        final CompletionRequest r = chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"text\",\"text\":\"first\"},{\"type\":\"text\",\"text\":\"second\"}]}]}");
        assertThat(r.prompt()).isEqualTo("User: first\nsecond\nAssistant:");
    }

    @Test
    void assistantContentMayBeNull() throws Exception {
        final CompletionRequest r = chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
                + "{\"role\":\"assistant\",\"content\":null},{\"role\":\"user\",\"content\":\"b\"}]}");
        assertThat(r.prompt()).isEqualTo("User: a\nAssistant: \nUser: b\nAssistant:");
    }

    @Test
    void parametersAreMapped() throws Exception {
        final CompletionRequest r = chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"max_completion_tokens\":12,\"max_tokens\":99,\"temperature\":0.2,\"top_p\":0.5,"
                + "\"repetition_penalty\":1.3,\"user\":\"player-7\",\"stop\":[\"END\",\"\\n\\n\"],\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"metadata\":{\"sim.gap_ms\":\"5\"},"
                + "\"n\":1,\"seed\":42,\"frequency_penalty\":0,\"presence_penalty\":0.0,\"logprobs\":false,"
                + "\"tools\":[],\"tool_choice\":\"none\",\"response_format\":{\"type\":\"text\"},"
                + "\"some_future_field\":{\"x\":1}}");
        final StreamPredictRequest up = r.toUpstream("t");

        assertThat(up.getGeneration().getMaxNewTokens()).isEqualTo(12); // max_completion_tokens wins
        assertThat(up.getGeneration().getTemperature()).isEqualTo(0.2);
        assertThat(up.getGeneration().getTopP()).isEqualTo(0.5);
        assertThat(up.getGeneration().getRepetitionPenalty()).isEqualTo(1.3);
        assertThat(up.getMetadata().getPlayerId()).isEqualTo("player-7");
        assertThat(up.getMetadata().getExtraMap()).isEqualTo(Map.of("sim.gap_ms", "5"));
        assertThat(r.stop()).containsExactly("END", "\n\n");
        assertThat(r.stream()).isTrue();
        assertThat(r.includeUsage()).isTrue();
    }

    @Test
    void absentMaxTokensIsLeftToTheWorker() throws Exception {
        final CompletionRequest r = chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"max_tokens\":null,\"stop\":\"###\"}");
        assertThat(r.maxTokens()).isZero();
        assertThat(r.stop()).containsExactly("###");
        assertThat(r.includeUsage()).isFalse();
    }

    @Test
    void textCompletionPromptIsPassedAsIs() throws Exception {
        final CompletionRequest r = parser.text(json.readTree("{\"model\":\"m\",\"prompt\":\"<s>raw\",\"max_tokens\":3,"
                + "\"echo\":false,\"best_of\":1,\"suffix\":null}"));
        assertThat(r.chat()).isFalse();
        assertThat(r.prompt()).isEqualTo("<s>raw");
        assertThat(r.maxTokens()).isEqualTo(3);
    }

    @Test
    void promptTokensAreEstimatedFromUtf8Bytes() throws Exception {
        assertThat(parser.text(json.readTree("{\"model\":\"m\",\"prompt\":\"abcd\"}")).promptTokens()).isEqualTo(1);
        assertThat(parser.text(json.readTree("{\"model\":\"m\",\"prompt\":\"abcde\"}")).promptTokens()).isEqualTo(2);
        // Two bytes per character in UTF-8.
        assertThat(parser.text(json.readTree("{\"model\":\"m\",\"prompt\":\"\u00e9\u00e9\u00e9\"}")).promptTokens())
                .isEqualTo(2);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            "n":2                                          | n                     | n: 2 (expected: 1)
            "tools":[{"type":"function"}]                  | tools                 | tools: 1 tool (expected: none; tool calls are not supported)
            "tool_choice":"required"                       | tool_choice           | tool_choice: "required" (expected: none or auto; tool calls are not supported)
            "functions":[{"name":"f"}]                     | functions             | functions: [{"name":"f"}] (expected: empty; function calls are not supported)
            "logprobs":true                                | logprobs              | logprobs: true (expected: false; log probabilities are not available)
            "top_logprobs":2                               | top_logprobs          | top_logprobs: 2 (expected: absent; log probabilities are not available)
            "response_format":{"type":"json_object"}       | response_format       | response_format.type: "json_object" (expected: text; structured output is not supported)
            "frequency_penalty":0.5                        | frequency_penalty     | frequency_penalty: 0.5 (expected: 0; use repetition_penalty)
            "presence_penalty":-1                          | presence_penalty      | presence_penalty: -1 (expected: 0; use repetition_penalty)
            "logit_bias":{"50256":-100}                    | logit_bias            | logit_bias: {"50256":-100} (expected: empty; token biases are not supported)
            "modalities":["text","audio"]                  | modalities            | modalities: ["text","audio"] (expected: ["text"])
            "audio":{"voice":"alloy"}                      | audio                 | audio: {"voice":"alloy"} (expected: absent; audio output is not available)
            """)
    void unsupportedParametersAreNamed(String field, String param, String message) throws Exception {
        final HttpError e = chatError("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]," + field + "}");
        assertThat(e.status().code()).isEqualTo(400);
        assertThat(e.code()).isEqualTo("unsupported_parameter");
        assertThat(e.param()).isEqualTo(param);
        assertThat(e.message()).isEqualTo(message);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            "max_tokens":-1                      | max_tokens   | max_tokens: -1 (expected: >= 1)
            "max_tokens":0                       | max_tokens   | max_tokens: 0 (expected: >= 1)
            "max_tokens":1.5                     | max_tokens   | max_tokens: 1.5 (expected: an integer >= 1)
            "max_tokens":"10"                    | max_tokens   | max_tokens: "10" (expected: an integer >= 1)
            "max_tokens":3000000000              | max_tokens   | max_tokens: 3000000000 (expected: <= 2147483647)
            "temperature":2.5                    | temperature  | temperature: 2.5 (expected: in [0, 2])
            "temperature":"hot"                  | temperature  | temperature: "hot" (expected: a number in [0, 2])
            "top_p":1.1                          | top_p        | top_p: 1.1 (expected: in [0, 1])
            "repetition_penalty":0               | repetition_penalty | repetition_penalty: 0 (expected: a number > 0)
            "stop":["a","b","c","d","e"]         | stop         | stop: 5 sequences (expected: at most 4)
            "stop":[""]                          | stop         | stop[0]: "" (expected: a non-empty string)
            "stop":7                             | stop         | stop: 7 (expected: a string or an array of strings)
            "stream":"yes"                       | stream       | stream: "yes" (expected: true or false)
            "user":42                            | user         | user: 42 (expected: a string)
            "metadata":{"k":1}                   | metadata     | metadata.k: 1 (expected: a string)
            "stream_options":{"include_usage":1} | stream_options.include_usage | stream_options.include_usage: 1 (expected: true or false)
            """)
    void invalidValuesAreNamed(String field, String param, String message) throws Exception {
        final HttpError e = chatError("{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + field + "}");
        assertThat(e.status().code()).isEqualTo(400);
        assertThat(e.code()).isEqualTo("invalid_value");
        assertThat(e.param()).isEqualTo(param);
        assertThat(e.message()).isEqualTo(message);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            {"messages":[]}                                                   | model                       | model: missing (expected: a string)
            {"model":"","messages":[]}                                        | model                       | model: "" (expected: a non-empty string)
            {"model":"m"}                                                     | messages                    | messages: missing (expected: an array of messages)
            {"model":"m","messages":[]}                                       | messages                    | messages: [] (expected: at least one message)
            {"model":"m","messages":"hi"}                                     | messages                    | messages: "hi" (expected: an array of messages)
            {"model":"m","messages":[{"content":"x"}]}                        | messages[0].role            | messages[0].role: missing (expected: system, developer, user or assistant)
            {"model":"m","messages":[{"role":"robot","content":"x"}]}         | messages[0].role            | messages[0].role: "robot" (expected: system, developer, user or assistant)
            {"model":"m","messages":[{"role":"user"}]}                        | messages[0].content         | messages[0].content: missing (expected: a string or an array of text parts)
            {"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]} | messages[0].content[0].text | messages[0].content[0].text: missing (expected: a string)
            """)
    void invalidMessagesAreNamed(String body, String param, String message) throws Exception {
        final HttpError e = chatError(body);
        assertThat(e.param()).isEqualTo(param);
        assertThat(e.message()).isEqualTo(message);
    }

    @Test
    void unsupportedMessageShapesAreNamed() throws Exception {
        assertThat(chatError("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}").message())
                .isEqualTo("messages[0].content[1].type: image_url (expected: text; only text parts are supported)");
        assertThat(chatError("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"42\",\"tool_call_id\":\"c\"}]}")
                .message()).isEqualTo("messages[0].role: tool (expected: system, developer, user or assistant;"
                + " tool calls are not supported)");
        assertThat(chatError("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,"
                + "\"tool_calls\":[{\"id\":\"c\"}]}]}").param()).isEqualTo("messages[0].tool_calls");
    }

    @Test
    void textCompletionRefusals() throws Exception {
        assertThat(textError("{\"model\":\"m\",\"prompt\":[\"a\",\"b\"]}").message()).isEqualTo("prompt: 2 prompts (expected: 1)");
        assertThat(textError("{\"model\":\"m\",\"prompt\":[1,2,3]}").message()).isEqualTo("prompt: [1,2,3] (expected: a string)");
        assertThat(textError("{\"model\":\"m\"}").message()).isEqualTo("prompt: missing (expected: a string)");
        assertThat(textError("{\"model\":\"m\",\"prompt\":\"x\",\"echo\":true}").param()).isEqualTo("echo");
        assertThat(textError("{\"model\":\"m\",\"prompt\":\"x\",\"best_of\":3}").message()).isEqualTo("best_of: 3 (expected: 1)");
        assertThat(textError("{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":2}").param()).isEqualTo("logprobs");
        assertThat(textError("{\"model\":\"m\",\"prompt\":\"x\",\"suffix\":\"end\"}").param()).isEqualTo("suffix");
    }

    @Test
    void longValuesAreShortenedInMessages() throws Exception {
        final String message = chatError("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"temperature\":\"" + "z".repeat(500) + "\"}").message();
        assertThat(message).hasSizeLessThan(120).contains("...");
    }

    @Test
    void templateNames() {
        assertThat(List.of(ChatTemplate.values())).extracting(ChatTemplate::templateName)
                .containsExactly("plain", "chatml", "llama3");
        assertThat(ChatTemplate.named("chatml")).isEqualTo(ChatTemplate.CHATML);
        assertThat(catchThrowableOfType(IllegalArgumentException.class, () -> ChatTemplate.named("alpaca")))
                .hasMessage("alpaca (expected: plain, chatml or llama3)");
    }

    private CompletionRequest chat(String body) throws Exception {
        return parser.chat(json.readTree(body));
    }

    private HttpError chatError(String body) throws Exception {
        return catchThrowableOfType(RequestException.class, () -> parser.chat(json.readTree(body))).error();
    }

    private HttpError textError(String body) throws Exception {
        return catchThrowableOfType(RequestException.class, () -> parser.text(json.readTree(body))).error();
    }
}
