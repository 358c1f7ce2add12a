package io.cy.bench.load;

import io.cy.llm.proto.StreamPredictResponse;

/**
 * Checks one StreamPredict response stream against the worker's contract: data chunks with
 * {@code index} 0, 1, 2, … in order, exactly as many as asked for, then one final message with
 * {@code end_of_stream}, {@code index} equal to the number of chunks and an empty chunk, and
 * nothing after it. A stream that breaks any rule but still ends OK is a {@code bad_stream} error:
 * a proxy that drops, repeats or reorders a token must not pass as fast.
 *
 * <p>Not thread-safe: gRPC delivers the messages of one call one at a time.
 */
final class StreamCheck {

    private final int expectedChunks;
    private int chunks;
    private boolean ended;
    private String problem;

    /** @param expectedChunks how many data chunks the stream must have; -1 for any number */
    StreamCheck(int expectedChunks) {
        if (expectedChunks < -1) {
            throw new IllegalArgumentException("expectedChunks: " + expectedChunks + " (expected: >= -1)");
        }
        this.expectedChunks = expectedChunks;
    }

    /**
     * Checks the next message.
     *
     * @return whether it is a data chunk (as opposed to the final message or a message after it)
     */
    boolean onMessage(StreamPredictResponse response) {
        final long index = Integer.toUnsignedLong(response.getIndex());
        if (ended) {
            fail("message with index " + index + " after the final message");
            return false;
        }
        if (response.getEndOfStream()) {
            ended = true;
            if (index != chunks) {
                fail("final message index " + index + " (expected: " + chunks + ", the number of chunks)");
            } else if (!response.getChunk().isEmpty()) {
                fail("final message with a non-empty chunk (" + response.getChunk().length() + " characters)");
            }
            return false;
        }
        if (index != chunks) {
            fail("chunk index " + index + " (expected: " + chunks + ")");
        }
        chunks++;
        return true;
    }

    /**
     * Called when the call ended OK.
     *
     * @return the first rule the stream broke, or null if it is well-formed
     */
    String finish() {
        if (!ended) {
            fail("no final end_of_stream message after " + chunks + " chunks");
        } else if (expectedChunks >= 0 && chunks != expectedChunks) {
            fail(chunks + " chunks (expected: " + expectedChunks + ")");
        }
        return problem;
    }

    /** Data chunks seen so far. */
    int chunks() {
        return chunks;
    }

    /** The first rule broken so far, or null. */
    String problem() {
        return problem;
    }

    private void fail(String description) {
        if (problem == null) {
            problem = description;
        }
    }
}
