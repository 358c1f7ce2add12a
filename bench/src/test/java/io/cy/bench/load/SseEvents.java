package io.cy.bench.load;

/** Event-stream bodies as the bridge writes them, for scripted servers. */
final class SseEvents {

    private SseEvents() {}

    /** The role chunk, {@code count} text chunks and the finish chunk of call {@code call}. */
    static String chunks(int call, int count) {
        final StringBuilder out = new StringBuilder(event(role(call)));
        for (int i = 0; i < count; i++) {
            out.append(event(text(call)));
        }
        return out.append(event(chunk(call, "{}", "\"length\""))).toString();
    }

    static String role(int call) {
        return chunk(call, "{\"role\":\"assistant\",\"content\":\"\"}", "null");
    }

    static String text(int call) {
        return text(call, " word");
    }

    static String text(int call, String content) {
        return chunk(call, "{\"content\":\"" + content + "\"}", "null");
    }

    static String chunk(int call, String delta, String finishReason) {
        return "{\"id\":\"chatcmpl-" + call + "\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"sim\","
                + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":"
                + finishReason + "}]}";
    }

    static String event(String data) {
        return "data: " + data + "\n\n";
    }

    static String done() {
        return "data: [DONE]\n\n";
    }
}
