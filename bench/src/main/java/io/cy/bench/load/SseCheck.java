package io.cy.bench.load;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Checks one streamed chat completion against OpenAI's contract as the bridge keeps it: every
 * event a {@code chat.completion.chunk} with one choice, exactly as many chunks carrying text in
 * {@code delta.content} as tokens were asked for (the opening chunk's empty content, which only
 * announces the role, is not one), then one chunk with a {@code finish_reason}, then
 * {@code data: [DONE]} and nothing after it. A stream that breaks any rule but ends well is a
 * {@code bad_stream} error, as in the gRPC mode: a bridge that drops or repeats a token must not
 * pass as fast.
 *
 * <p>Not thread-safe: one response's events arrive one at a time.
 */
final class SseCheck {

    static final String DONE = "[DONE]";
    static final String CHUNK_OBJECT = "chat.completion.chunk";
    private static final int SHOWN_CHARS = 60;

    private final ObjectMapper mapper;
    private final int expectedChunks;
    private int events;
    private int chunks;
    private boolean finished;
    private boolean done;
    private String problem;

    /** @param expectedChunks how many content chunks the stream must have; -1 for any number */
    SseCheck(ObjectMapper mapper, int expectedChunks) {
        if (expectedChunks < -1) {
            throw new IllegalArgumentException("expectedChunks: " + expectedChunks + " (expected: >= -1)");
        }
        this.mapper = mapper;
        this.expectedChunks = expectedChunks;
    }

    /**
     * Checks the data of the next event.
     *
     * @return whether it is a content chunk, the one the figures time
     */
    boolean onData(String data) {
        events++;
        if (done) {
            fail("event " + events + " after [DONE]: " + show(data));
            return false;
        }
        if (data.equals(DONE)) {
            done = true;
            return false;
        }
        final JsonNode chunk;
        try {
            chunk = mapper.readTree(data);
        } catch (JsonProcessingException e) {
            fail("event " + events + ": not JSON: " + show(data));
            return false;
        }
        if (!CHUNK_OBJECT.equals(chunk.path("object").asText())) {
            fail("event " + events + ": object " + show(chunk.path("object").toString()) + " (expected: \""
                    + CHUNK_OBJECT + "\")");
            return false;
        }
        final JsonNode choices = chunk.path("choices");
        if (!choices.isArray() || choices.size() != 1) {
            fail("event " + events + ": choices " + show(choices.toString()) + " (expected: one choice)");
            return false;
        }
        final JsonNode choice = choices.get(0);
        final JsonNode content = choice.path("delta").path("content");
        final boolean text = content.isTextual() && !content.asText().isEmpty();
        if (text) {
            if (finished) {
                fail("event " + events + ": content after the chunk with finish_reason");
            }
            chunks++;
        }
        final JsonNode finishReason = choice.path("finish_reason");
        if (!finishReason.isMissingNode() && !finishReason.isNull()) {
            if (finished) {
                fail("event " + events + ": a second chunk with finish_reason");
            }
            finished = true;
        }
        return text;
    }

    /**
     * Called when the response ended.
     *
     * @return the first rule the stream broke, or null if it is well-formed
     */
    String finish() {
        if (!done) {
            fail("no data: [DONE] after " + chunks + " content chunks");
        } else if (!finished) {
            fail("no chunk with finish_reason after " + chunks + " content chunks");
        } else if (expectedChunks >= 0 && chunks != expectedChunks) {
            fail(chunks + " content chunks (expected: " + expectedChunks + ")");
        }
        return problem;
    }

    /** Content chunks seen so far. */
    int chunks() {
        return chunks;
    }

    /** The first rule broken so far, or null. */
    String problem() {
        return problem;
    }

    /** Records a problem found outside the events (the framing of the body, its content type). */
    void fail(String description) {
        if (problem == null) {
            problem = description;
        }
    }

    static String show(String s) {
        return s.length() <= SHOWN_CHARS ? s : s.substring(0, SHOWN_CHARS) + "...";
    }
}
