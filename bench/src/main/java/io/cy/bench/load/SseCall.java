package io.cy.bench.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * One streamed chat completion of a load run: takes a connection, sends the request, times and
 * checks every event, gives the connection back and reports its end to the run.
 *
 * <p>How it can fail, by what the errors are counted:
 * <ul>
 *   <li>{@code http_<status>}: an answer other than 200, e.g. {@code http_401} for a refused token;
 *   <li>{@code error_event}: a 200 whose stream ended with an {@code event: error} (the upstream
 *       failed after the first token);
 *   <li>{@link LoadRun#BAD_STREAM}: a stream that ended well but broke a rule of {@link SseCheck};
 *   <li>{@code connect_failed}, {@code connection_closed}: no connection, or one lost mid-answer;
 *   <li>{@link LoadRun#UNFINISHED}: still open after the drain timeout.
 * </ul>
 *
 * <p>Once it has its connection, everything runs on that connection's event loop.
 */
final class SseCall implements LoadCall, HttpConnection.Exchange, EventStreamReader.Sink {

    static final String ERROR_EVENT = "error_event";
    static final String CONNECT_FAILED = "connect_failed";
    static final String CONNECTION_CLOSED = "connection_closed";
    /**
     * The longest SSE line, and the most data one event may carry. A chunk event holds one token's
     * text: a few hundred bytes, a few KiB with logprobs. 64 KiB leaves ample room for that while
     * bounding what a call can buffer (a line and an event's data) to a few hundred KiB at worst,
     * some 200 MiB at 1,000 calls in progress, where 1 MiB allowed gigabytes.
     */
    static final int MAX_EVENT_BYTES = 64 << 10;
    /** How much of an error answer's body is kept for the message. */
    private static final int MAX_ERROR_CHARS = 4096;

    private final LoadRun run;
    private final HttpConnections connections;
    private final Supplier<FullHttpRequest> request;
    private final SseCheck check;
    private final ObjectMapper mapper;
    private final long startNanos;
    private final Runnable onEnd;
    private volatile HttpConnection connection;
    private volatile boolean cancelledByRun;
    // The connection's event loop only.
    private final EventStreamReader reader = new EventStreamReader(MAX_EVENT_BYTES);
    private int status;
    private boolean eventStream;
    private final StringBuilder errorBody = new StringBuilder();
    private String errorEvent;
    private long readNanos;
    private long lastChunkNanos;
    private boolean ended;

    /**
     * @param request makes the request, once
     * @param startNanos when the call counts as started: its scheduled time in an open loop
     * @param onEnd runs after the run has counted the call's end
     */
    SseCall(LoadRun run, HttpConnections connections, Supplier<FullHttpRequest> request, SseCheck check,
            ObjectMapper mapper, long startNanos, Runnable onEnd) {
        this.run = run;
        this.connections = connections;
        this.request = request;
        this.check = check;
        this.mapper = mapper;
        this.startNanos = startNanos;
        this.onEnd = onEnd;
    }

    @Override
    public void start() {
        connections.acquire((c, failure) -> {
            if (failure != null) {
                end(CONNECT_FAILED, CONNECT_FAILED + ": " + connections.target() + ": " + describe(failure),
                        System.nanoTime());
                return;
            }
            connection = c;
            // cancelByRun sets its flag before it reads the connection, this the reverse: one of them sees the other.
            if (cancelledByRun) {
                connections.discard(c);
                end(LoadRun.UNFINISHED, LoadRun.UNFINISHED_DESCRIPTION, System.nanoTime());
                return;
            }
            c.send(request.get(), this);
        });
    }

    @Override
    public long startNanos() {
        return startNanos;
    }

    @Override
    public void cancelByRun() {
        cancelledByRun = true;
        final HttpConnection c = connection;
        if (c != null) {
            c.close(); // the exchange then ends through onClosed
        }
    }

    @Override
    public void onHead(HttpResponse head, long nanos) {
        status = head.status().code();
        if (status != HttpResponseStatus.OK.code()) {
            return;
        }
        final String type = head.headers().get(HttpHeaderNames.CONTENT_TYPE);
        eventStream = type != null && type.startsWith("text/event-stream");
        if (!eventStream) {
            check.fail("content-type " + type + " (expected: text/event-stream)");
        }
    }

    @Override
    public void onContent(HttpContent content, long nanos) {
        if (status == HttpResponseStatus.OK.code()) {
            if (eventStream) {
                readNanos = nanos;
                if (!reader.read(content.content(), this)) {
                    check.fail("a line or event over the limit of " + MAX_EVENT_BYTES + " bytes");
                }
            }
        } else if (errorBody.length() < MAX_ERROR_CHARS) {
            errorBody.append(content.content().toString(StandardCharsets.UTF_8));
        }
        if (content instanceof LastHttpContent) {
            answered(nanos);
        }
    }

    @Override
    public void onEvent(String type, String data) {
        if (type.equals("error")) {
            if (errorEvent == null) {
                errorEvent = data;
            }
            return;
        }
        if (!type.equals(EventStreamReader.MESSAGE)) {
            check.fail("event type " + SseCheck.show(type) + " (expected: none, or error)");
            return;
        }
        if (check.onData(data)) {
            run.chunk(check.chunks(), startNanos, lastChunkNanos, readNanos);
            lastChunkNanos = readNanos;
        }
    }

    @Override
    public void onClosed(Throwable cause, long nanos) {
        if (cancelledByRun) {
            end(LoadRun.UNFINISHED, LoadRun.UNFINISHED_DESCRIPTION, nanos);
            return;
        }
        end(CONNECTION_CLOSED, CONNECTION_CLOSED + ": " + (cause == null ? "by the server" : describe(cause))
                + (status == 0 ? " before the answer" : " after " + check.chunks() + " content chunks"), nanos);
    }

    /** The whole answer is in. */
    private void answered(long nanos) {
        // Back first: the run may start the next call, on this connection, as soon as it hears of
        // the end. Forgotten before that, so a late cancelByRun cannot close it under that call.
        final HttpConnection done = connection;
        connection = null;
        connections.release(done);
        if (status != HttpResponseStatus.OK.code()) {
            final String kind = "http_" + status;
            end(kind, kind + ": " + errorMessage(errorBody.toString()), nanos);
            return;
        }
        if (errorEvent != null) {
            end(ERROR_EVENT, ERROR_EVENT + ": " + errorMessage(errorEvent), nanos);
            return;
        }
        if (reader.midEvent()) {
            check.fail("the body ends inside an event");
        }
        final String problem = check.finish();
        end(problem == null ? null : LoadRun.BAD_STREAM, problem == null ? null : LoadRun.BAD_STREAM + ": " + problem,
                nanos);
    }

    /** @param kind null for a success */
    private void end(String kind, String description, long nanos) {
        if (ended) {
            return;
        }
        ended = true;
        if (kind == null) {
            run.succeeded(this, nanos);
        } else {
            run.failed(this, kind, description, nanos);
        }
        onEnd.run();
    }

    /** OpenAI's error envelope's message, else the text as it came. */
    private String errorMessage(String body) {
        try {
            final JsonNode message = mapper.readTree(body).path("error").path("message");
            if (message.isTextual()) {
                return message.asText();
            }
        } catch (java.io.IOException | RuntimeException e) {
            // Not the envelope: shown as is.
        }
        final String text = body.strip();
        return text.isEmpty() ? "(no body)" : SseCheck.show(text);
    }

    private static String describe(Throwable t) {
        return t.getMessage() == null ? t.toString() : t.getClass().getSimpleName() + ": " + t.getMessage();
    }
}
