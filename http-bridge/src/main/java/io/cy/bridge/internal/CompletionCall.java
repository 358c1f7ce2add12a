package io.cy.bridge.internal;

import io.cy.bridge.internal.CompletionJson.Usage;
import io.cy.llm.proto.StreamPredictRequest;
import io.cy.llm.proto.StreamPredictResponse;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One completion: the upstream StreamPredict call and what becomes of its chunks.
 *
 * <p>Flow control is manual and end to end: the next upstream message is requested only while
 * the HTTP connection is writable, and the request resumes when the connection drains
 * ({@link Exchange#onWritable}). A client that reads slowly therefore holds the upstream stream at
 * gRPC's flow-control window, and the bridge holds at most one chunk beyond Netty's write buffer.
 *
 * <p>The call ends exactly once ({@code finished}): with the worker's {@code end_of_stream}, a
 * stop sequence (the upstream call is then cancelled), an upstream error, or the client leaving
 * (cancelled too). Every callback runs on the connection's event loop.
 */
final class CompletionCall extends ClientCall.Listener<StreamPredictResponse> {

    private static final Logger log = LoggerFactory.getLogger(CompletionCall.class);

    /** Set by the coordinator when the alias's degrade policy sent the call to a fallback. */
    static final Metadata.Key<String> CY_DEGRADED = Metadata.Key.of("cy-degraded", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> CY_MODEL = Metadata.Key.of("cy-model", Metadata.ASCII_STRING_MARSHALLER);
    static final String X_CY_DEGRADED = "x-cy-degraded";

    private final Exchange exchange;
    private final CompletionRequest request;
    private final CompletionJson json;
    private final Output output;
    private final StopScanner stops;
    private ClientCall<StreamPredictRequest, StreamPredictResponse> call;
    private boolean started;
    private boolean finished;
    private boolean requestPending;
    private int chunks;

    CompletionCall(Exchange exchange, CompletionRequest request, CompletionJson json, Output output) {
        this.exchange = exchange;
        this.request = request;
        this.json = json;
        this.output = output;
        this.stops = new StopScanner(request.stop());
    }

    void start(Upstream upstream, Metadata headers) {
        final CallbackExecutor callbacks = new CallbackExecutor(exchange.executor());
        call = upstream.newStreamPredict(callbacks);
        exchange.onClientGone(() -> cancel("client disconnected"));
        exchange.onWritable(this::writable);
        call.start(this, headers);
        call.sendMessage(request.toUpstream(exchange.requestId()));
        call.halfClose(); // the worker reads only the first request message
        call.request(1);
        callbacks.runInline();
    }

    @Override
    public void onHeaders(Metadata headers) {
        final String degraded = headers.get(CY_DEGRADED);
        if (degraded == null) {
            return;
        }
        // Said before the response starts: the client learns that another model answers, and which.
        exchange.addResponseHeader(X_CY_DEGRADED, degraded);
        final String served = headers.get(CY_MODEL);
        if (served != null && !served.isEmpty()) {
            json.servedBy(served);
        }
    }

    @Override
    public void onMessage(StreamPredictResponse response) {
        if (finished) {
            return;
        }
        try {
            if (!started) {
                started = true;
                output.begin();
            }
            if (response.getEndOfStream()) {
                final String tail = stops.flush();
                if (!tail.isEmpty() && !output.text(tail)) {
                    finished = true;
                    return;
                }
                finish(request.maxTokens() > 0 && chunks >= request.maxTokens() ? "length" : "stop");
                return;
            }
            chunks++;
            final String text = stops.accept(response.getChunk());
            if (!text.isEmpty() && !output.text(text)) {
                finished = true;
                call.cancel("answer too large", null);
                return;
            }
            if (stops.matched()) {
                finish("stop");
                call.cancel("stop sequence reached", null);
                return;
            }
            if (output.wantsMore()) {
                call.request(1);
            } else {
                requestPending = true;
            }
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
        if (finished) {
            return;
        }
        finished = true;
        try {
            if (status.isOk()) {
                // The contract ends every stream with end_of_stream; without it the answer may be cut short.
                output.fail(HttpError.badGateway("upstream ended the stream without end_of_stream after "
                        + chunks + " chunks"));
            } else {
                output.fail(HttpStatuses.fromGrpc(status, trailers));
            }
        } catch (RuntimeException e) {
            log.warn("x-request-id={}: cannot send the upstream's {}", exchange.requestId(), status.getCode(), e);
        }
    }

    private void writable() {
        if (requestPending && !finished && output.wantsMore()) {
            requestPending = false;
            call.request(1);
        }
    }

    private void finish(String finishReason) {
        finished = true;
        output.finish(finishReason, new Usage(request.promptTokens(), chunks));
    }

    private void cancel(String why) {
        if (finished) {
            return;
        }
        finished = true;
        call.cancel(why, null);
    }

    /** A bug of ours while handling a message: answer 500 (or an error event) and stop the upstream. */
    private void fail(RuntimeException e) {
        log.error("x-request-id={}: failed to relay a chunk", exchange.requestId(), e);
        finished = true;
        call.cancel("bridge error", e);
        output.fail(HttpError.internal(e));
    }

    /** Where the completion goes: an event stream, or one JSON answer at the end. */
    interface Output {
        /** The first upstream message arrived: the answer is going to be a success, so far. */
        void begin();

        /** @return false when the output refused the text and has answered with an error: stop the call */
        boolean text(String text);

        void finish(String finishReason, Usage usage);

        /** Before {@link #begin}: an HTTP error answer; after: an error event ending the stream. */
        void fail(HttpError error);

        /** Whether to ask the upstream for the next message now. */
        boolean wantsMore();
    }

    /** {@code stream: true}: chunks go out as server-sent events, one flush per token. */
    static final class EventStream implements Output {

        private final Exchange exchange;
        private final CompletionJson json;
        private final boolean chat;
        private final boolean includeUsage;
        private ChunkEvents events;

        EventStream(Exchange exchange, CompletionJson json, CompletionRequest request) {
            this.exchange = exchange;
            this.json = json;
            this.chat = request.chat();
            this.includeUsage = request.includeUsage();
        }

        @Override
        public void begin() {
            // After the upstream's headers, which may name another model (a degraded call).
            events = json.chunkEvents();
            exchange.startEventStream();
            if (chat) {
                exchange.sendEvent(events.role(exchange::eventBuffer));
            }
        }

        @Override
        public boolean text(String text) {
            exchange.sendEvent(events.text(exchange::eventBuffer, text));
            return true;
        }

        @Override
        public void finish(String finishReason, Usage usage) {
            exchange.sendEvent(events.finish(exchange::eventBuffer, finishReason));
            if (includeUsage) {
                exchange.sendData(json.usageChunk(usage));
            }
            exchange.endEventStream();
        }

        @Override
        public void fail(HttpError error) {
            if (exchange.responseStarted()) {
                exchange.failEventStream(error);
            } else {
                exchange.sendError(error);
            }
        }

        @Override
        public boolean wantsMore() {
            return exchange.isWritable();
        }
    }

    /** {@code stream: false}: the text is collected and sent as one JSON answer. */
    static final class Collected implements Output {

        /**
         * The most text one answer may collect. The coordinator bounds max_new_tokens, but not the
         * size of a chunk; this keeps one request from taking the heap.
         */
        static final int MAX_CHARS = 16 << 20;

        private final Exchange exchange;
        private final CompletionJson json;
        private final StringBuilder text = new StringBuilder();

        Collected(Exchange exchange, CompletionJson json) {
            this.exchange = exchange;
            this.json = json;
        }

        @Override
        public void begin() {
            // Nothing to send until the end.
        }

        @Override
        public boolean text(String chunk) {
            if (text.length() + chunk.length() > MAX_CHARS) {
                exchange.sendError(HttpError.badGateway("completion longer than " + MAX_CHARS
                        + " characters (expected: <= " + MAX_CHARS + "; use stream: true)"));
                return false;
            }
            text.append(chunk);
            return true;
        }

        @Override
        public void finish(String finishReason, Usage usage) {
            exchange.sendJson(HttpResponseStatus.OK, json.full(text.toString(), finishReason, usage));
        }

        @Override
        public void fail(HttpError error) {
            exchange.sendError(error);
        }

        @Override
        public boolean wantsMore() {
            return true; // bounded by MAX_CHARS, not by the client's reading
        }
    }
}
