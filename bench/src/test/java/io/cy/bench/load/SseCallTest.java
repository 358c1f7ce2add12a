package io.cy.bench.load;

import static io.cy.bench.load.SseEvents.chunks;
import static io.cy.bench.load.SseEvents.done;
import static io.cy.bench.load.SseEvents.event;
import static io.cy.bench.load.SseEvents.role;
import static io.cy.bench.load.SseEvents.text;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** How a call ends on each kind of broken answer, against a scripted server on a real socket. */
class SseCallTest {

    private static final Duration LONG = Duration.ofSeconds(30);
    private static final int TOKENS = 2;
    private static final String EVENT_STREAM = "text/event-stream";

    private final ScriptedPool pool = new ScriptedPool(2, "test-sse");

    @AfterEach
    void stop() throws Exception {
        pool.close();
    }

    /** A server that is ready and answers chat completions with {@code chat}. */
    private SseLoadGenerator against(ScriptedHttpServer.Script chat, int maxConnections) throws Exception {
        return new SseLoadGenerator(pool.open((request, peer) -> {
            if (request.target().equals(SseLoadGenerator.READY_PATH)) {
                peer.answer(200, null, "");
            } else {
                chat.answer(request, peer);
            }
        }, maxConnections));
    }

    /** Two calls, one at a time, each answered with {@code body} as a whole event stream. */
    private LoadResult twoCallsAnswered(String body) throws Exception {
        return against((request, peer) -> peer.answer(200, EVENT_STREAM, body), 1).run(plan(1, 2));
    }

    private static LoadPlan plan(int concurrency, long calls) {
        return new LoadPlan(concurrency, calls, LONG, 0, LoadPlan.request("sim", 32, TOKENS, Map.of()), TOKENS, null,
                LONG);
    }

    @Test
    void aWellFormedStreamSucceeds() throws Exception {
        final LoadResult result = twoCallsAnswered(chunks(0, TOKENS) + done());

        assertThat(result.succeeded()).isEqualTo(2);
        assertThat(result.errors()).isEmpty();
        assertThat(pool.server().accepted()).isEqualTo(1);
    }

    @Test
    void aConnectionClosedBeforeTheAnswerIsConnectionClosed() throws Exception {
        final LoadResult result = against((request, peer) -> peer.close(), 1).run(plan(1, 2));

        assertThat(result.errors()).containsExactly(Map.entry(SseCall.CONNECTION_CLOSED, 2L));
        assertThat(result.firstError()).isEqualTo("connection_closed: by the server before the answer");
        // Each lost connection was uncounted: a pool of one opened the next.
        assertThat(pool.server().accepted()).isEqualTo(2);
    }

    @Test
    void aConnectionClosedMidStreamIsConnectionClosedAfterTheChunksItGot() throws Exception {
        final LoadResult result = against((request, peer) -> {
            peer.chunkedHead(200, EVENT_STREAM);
            peer.chunk(event(role(0)) + event(text(0)));
            peer.close();
        }, 1).run(plan(1, 2));

        assertThat(result.errors()).containsExactly(Map.entry(SseCall.CONNECTION_CLOSED, 2L));
        assertThat(result.firstError()).isEqualTo("connection_closed: by the server after 1 content chunks");
        assertThat(result.chunks()).isEqualTo(2);
    }

    @Test
    void aRefusedConnectDuringARunIsConnectFailed() throws Exception {
        final SseLoadGenerator generator = against((request, peer) -> peer.answer(200, EVENT_STREAM,
                chunks(0, TOKENS) + done()), 2);
        assertThat(generator.awaitReady(LONG, null)).isNull();
        // The checked connection stays open and served; any other is refused.
        pool.server().stopListening();

        final LoadResult result = generator.run(plan(2, 6));

        assertThat(result.started()).isEqualTo(6);
        // The first worker takes the idle connection, so the second's first call must connect.
        assertThat(result.succeeded()).isPositive();
        assertThat(result.errors()).containsOnlyKeys(SseCall.CONNECT_FAILED);
        assertThat(result.succeeded() + result.errors().get(SseCall.CONNECT_FAILED)).isEqualTo(6);
        assertThat(result.firstError()).startsWith("connect_failed: " + pool.server().url() + ": ")
                .doesNotContain("in use");
        assertThat(pool.connections().openCount()).isEqualTo(1);
    }

    @Test
    void aWrongContentTypeIsABadStream() throws Exception {
        final LoadResult result = against((request, peer) -> peer.answer(200, "application/json",
                chunks(0, TOKENS) + done()), 1).run(plan(1, 2));

        assertThat(result.errors()).containsExactly(Map.entry(LoadRun.BAD_STREAM, 2L));
        assertThat(result.firstError())
                .isEqualTo("bad_stream: content-type application/json (expected: text/event-stream)");
    }

    @Test
    void anUnknownEventTypeIsABadStream() throws Exception {
        final LoadResult result = twoCallsAnswered("event: ping\ndata: {}\n\n" + chunks(0, TOKENS) + done());

        assertThat(result.errors()).containsExactly(Map.entry(LoadRun.BAD_STREAM, 2L));
        assertThat(result.firstError()).isEqualTo("bad_stream: event type ping (expected: none, or error)");
    }

    @Test
    void anEventOverTheLimitIsABadStreamNamingIt() throws Exception {
        final String huge = event(text(0, "x".repeat(SseCall.MAX_EVENT_BYTES)));

        final LoadResult result = twoCallsAnswered(event(role(0)) + huge + chunks(0, TOKENS) + done());

        assertThat(result.errors()).containsExactly(Map.entry(LoadRun.BAD_STREAM, 2L));
        assertThat(result.firstError())
                .isEqualTo("bad_stream: a line or event over the limit of " + (64 * 1024) + " bytes");
        // The rest of the body was drained, not read: the connection carried the second call.
        assertThat(pool.server().accepted()).isEqualTo(1);
    }

    @Test
    void anEventJustUnderTheLimitIsRead() throws Exception {
        // "data: " and the chunk's JSON around the text take well under 1 KiB of the line.
        final String big = text(0, "x".repeat(SseCall.MAX_EVENT_BYTES - 1024));

        final LoadResult result = twoCallsAnswered(event(role(0)) + event(big) + event(text(0))
                + event(SseEvents.chunk(0, "{}", "\"length\"")) + done());

        assertThat(result.errors()).isEmpty();
        assertThat(result.chunks()).isEqualTo(2 * TOKENS);
    }

    @Test
    void aBodyEndingInsideAnEventIsABadStream() throws Exception {
        final LoadResult result = twoCallsAnswered(chunks(0, TOKENS) + "data: [DONE]\n");

        assertThat(result.errors()).containsExactly(Map.entry(LoadRun.BAD_STREAM, 2L));
        assertThat(result.firstError()).isEqualTo("bad_stream: the body ends inside an event");
    }
}
