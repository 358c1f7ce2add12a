package io.cy.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.llm.proto.StreamPredictResponse;
import org.junit.jupiter.api.Test;

class StreamCheckTest {

    private static StreamPredictResponse chunk(int index) {
        return StreamPredictResponse.newBuilder().setChunk("tok" + index + " ").setIndex(index).build();
    }

    private static StreamPredictResponse last(int index) {
        return StreamPredictResponse.newBuilder().setEndOfStream(true).setIndex(index).build();
    }

    private static String feed(StreamCheck check, StreamPredictResponse... responses) {
        for (StreamPredictResponse r : responses) {
            check.onMessage(r);
        }
        return check.finish();
    }

    @Test
    void wellFormedStreamPasses() {
        final StreamCheck check = new StreamCheck(3);

        assertThat(check.onMessage(chunk(0))).isTrue();
        assertThat(check.onMessage(chunk(1))).isTrue();
        assertThat(check.onMessage(chunk(2))).isTrue();
        assertThat(check.onMessage(last(3))).isFalse();

        assertThat(check.finish()).isNull();
        assertThat(check.chunks()).isEqualTo(3);
    }

    @Test
    void gapInIndexes() {
        assertThat(feed(new StreamCheck(3), chunk(0), chunk(2), chunk(3), last(3)))
                .isEqualTo("chunk index 2 (expected: 1)");
    }

    @Test
    void repeatedIndex() {
        assertThat(feed(new StreamCheck(2), chunk(0), chunk(0), last(2)))
                .isEqualTo("chunk index 0 (expected: 1)");
    }

    @Test
    void tooFewChunks() {
        assertThat(feed(new StreamCheck(3), chunk(0), chunk(1), last(2)))
                .isEqualTo("2 chunks (expected: 3)");
    }

    @Test
    void anyCountWhenNoneIsExpected() {
        assertThat(feed(new StreamCheck(-1), chunk(0), chunk(1), last(2))).isNull();
    }

    @Test
    void missingFinalMessage() {
        assertThat(feed(new StreamCheck(2), chunk(0), chunk(1)))
                .isEqualTo("no final end_of_stream message after 2 chunks");
    }

    @Test
    void finalMessageWithTheWrongIndex() {
        assertThat(feed(new StreamCheck(2), chunk(0), chunk(1), last(7)))
                .isEqualTo("final message index 7 (expected: 2, the number of chunks)");
    }

    @Test
    void finalMessageWithText() {
        final StreamPredictResponse withText = last(1).toBuilder().setChunk("x").build();

        assertThat(feed(new StreamCheck(1), chunk(0), withText))
                .isEqualTo("final message with a non-empty chunk (1 characters)");
    }

    @Test
    void messageAfterTheFinalOne() {
        final StreamCheck check = new StreamCheck(1);
        check.onMessage(chunk(0));
        check.onMessage(last(1));

        assertThat(check.onMessage(chunk(1))).isFalse();
        assertThat(check.finish()).isEqualTo("message with index 1 after the final message");
    }

    @Test
    void uint32IndexIsReadUnsigned() {
        assertThat(feed(new StreamCheck(1), chunk(-1), last(1)))
                .isEqualTo("chunk index 4294967295 (expected: 0)");
    }

    @Test
    void keepsTheFirstProblem() {
        assertThat(feed(new StreamCheck(3), chunk(0), chunk(5), chunk(9)))
                .isEqualTo("chunk index 5 (expected: 1)");
    }
}
