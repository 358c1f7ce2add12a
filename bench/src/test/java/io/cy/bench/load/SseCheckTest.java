package io.cy.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class SseCheckTest {

    private static final String ROLE = chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null");
    private static final String TEXT = chunk("{\"content\":\" word\"}", "null");
    private static final String FINISH = chunk("{}", "\"length\"");

    private final ObjectMapper mapper = new ObjectMapper();

    private static String chunk(String delta, String finishReason) {
        return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"sim\","
                + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":"
                + finishReason + "}]}";
    }

    private SseCheck fed(int expected, String... events) {
        final SseCheck check = new SseCheck(mapper, expected);
        for (String data : events) {
            check.onData(data);
        }
        return check;
    }

    @Test
    void aWellFormedStreamPasses() {
        final SseCheck check = new SseCheck(mapper, 2);

        assertThat(check.onData(ROLE)).isFalse();
        assertThat(check.onData(TEXT)).isTrue();
        assertThat(check.onData(TEXT)).isTrue();
        assertThat(check.onData(FINISH)).isFalse();
        assertThat(check.onData("[DONE]")).isFalse();

        assertThat(check.finish()).isNull();
        assertThat(check.chunks()).isEqualTo(2);
    }

    @Test
    void theRoleChunkIsOptionalAndAnyCountPassesWhenNoneIsExpected() {
        assertThat(fed(-1, TEXT, TEXT, TEXT, FINISH, "[DONE]").finish()).isNull();
        assertThat(fed(1, TEXT, FINISH, "[DONE]").finish()).isNull();
    }

    @Test
    void countsAndOrderAreChecked() {
        assertThat(fed(2, ROLE, TEXT, FINISH, "[DONE]").finish()).isEqualTo("1 content chunks (expected: 2)");
        assertThat(fed(2, ROLE, TEXT, TEXT, TEXT, FINISH, "[DONE]").finish())
                .isEqualTo("3 content chunks (expected: 2)");
        assertThat(fed(2, ROLE, TEXT, TEXT, FINISH).finish()).isEqualTo("no data: [DONE] after 2 content chunks");
        assertThat(fed(2, ROLE, TEXT, TEXT, "[DONE]").finish())
                .isEqualTo("no chunk with finish_reason after 2 content chunks");
        assertThat(fed(1, TEXT, FINISH, TEXT, "[DONE]").finish())
                .isEqualTo("event 3: content after the chunk with finish_reason");
        assertThat(fed(1, TEXT, FINISH, FINISH, "[DONE]").finish())
                .isEqualTo("event 3: a second chunk with finish_reason");
        assertThat(fed(1, TEXT, FINISH, "[DONE]", "[DONE]").finish()).isEqualTo("event 4 after [DONE]: [DONE]");
    }

    @Test
    void everyEventMustBeAChunk() {
        assertThat(fed(-1, "{\"oops\"").problem()).isEqualTo("event 1: not JSON: {\"oops\"");
        assertThat(fed(-1, "{\"object\":\"chat.completion\",\"choices\":[]}").problem())
                .isEqualTo("event 1: object \"chat.completion\" (expected: \"chat.completion.chunk\")");
        assertThat(fed(-1, "{\"object\":\"chat.completion.chunk\",\"choices\":[]}").problem())
                .isEqualTo("event 1: choices [] (expected: one choice)");
    }

    @Test
    void theFirstProblemIsKept() {
        final SseCheck check = fed(5, "nonsense", TEXT);

        assertThat(check.finish()).isEqualTo("event 1: not JSON: nonsense");
    }
}
