package io.cy.bench.load;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs streamed chat completions ({@code POST /v1/chat/completions}, {@code stream: true}) against
 * an OpenAI-compatible HTTP API such as the coordinator's bridge: the same plans, pacing and
 * accounting as the gRPC {@link LoadGenerator}, so the figures of the two compare. Time to first
 * chunk is to the first event carrying text in {@code delta.content}; the gaps are between such
 * events. Each call in progress holds one HTTP/1.1 connection, kept alive for the next call.
 */
public final class SseLoadGenerator implements LoadDriver {

    static final String READY_PATH = "/readyz";

    private final HttpConnections connections;
    private final ObjectMapper mapper = new ObjectMapper();

    public SseLoadGenerator(HttpConnections connections) {
        this.connections = requireNonNull(connections, "connections");
    }

    @Override
    public LoadResult run(LoadPlan plan) throws InterruptedException {
        requireNonNull(plan, "plan");
        if (plan.concurrency() > connections.max()) {
            throw new IllegalArgumentException("plan.concurrency: " + plan.concurrency() + " (expected: <= "
                    + connections.max() + ", the connections allowed)");
        }
        return new LoadRun(plan, new SseCalls(plan, connections, mapper)).run();
    }

    /**
     * Opens as many connections as the run may use and asks {@code GET /readyz} on each (with the
     * token: the bridge's readiness asks its upstream with the caller's credential); they stay
     * open for the run.
     */
    @Override
    public String awaitReady(Duration timeout, String token) throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        final List<CompletableFuture<String>> answers = new ArrayList<>();
        final List<HttpConnection> opened = new ArrayList<>();
        for (int i = 0; i < connections.max(); i++) {
            final CompletableFuture<String> answer = new CompletableFuture<>();
            answers.add(answer);
            connections.acquire((c, failure) -> {
                if (failure != null) {
                    answer.complete("cannot connect to " + connections.target() + ": " + failure);
                    return;
                }
                synchronized (opened) {
                    opened.add(c);
                }
                c.send(readyRequest(token), new ReadyExchange(answer));
            });
        }
        String notReady = null;
        try {
            for (CompletableFuture<String> answer : answers) {
                notReady = answer.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (notReady != null) {
                    break;
                }
            }
        } catch (TimeoutException e) {
            notReady = "GET " + READY_PATH + ": no answer within " + timeout.toSeconds() + " s";
        } catch (ExecutionException e) {
            notReady = "GET " + READY_PATH + ": " + e.getCause();
        } finally {
            synchronized (opened) {
                for (HttpConnection c : opened) {
                    connections.release(c);
                }
            }
        }
        return notReady;
    }

    private FullHttpRequest readyRequest(String token) {
        final FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET,
                connections.target().path(READY_PATH));
        request.headers().set(HttpHeaderNames.HOST, connections.target().hostHeader());
        request.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        if (token != null) {
            request.headers().set(HttpHeaderNames.AUTHORIZATION, "Bearer " + token);
        }
        return request;
    }

    /** One readiness answer: null for a 200, else the status and the start of the body. */
    private static final class ReadyExchange implements HttpConnection.Exchange {

        private static final int MAX_BODY_CHARS = 512;

        private final CompletableFuture<String> answer;
        private final StringBuilder body = new StringBuilder();
        private int status;

        ReadyExchange(CompletableFuture<String> answer) {
            this.answer = answer;
        }

        @Override
        public void onHead(HttpResponse head, long nanos) {
            status = head.status().code();
        }

        @Override
        public void onContent(HttpContent content, long nanos) {
            if (body.length() < MAX_BODY_CHARS) {
                body.append(content.content().toString(StandardCharsets.UTF_8));
            }
            if (content instanceof LastHttpContent) {
                answer.complete(status == 200 ? null
                        : "GET " + READY_PATH + ": " + status + " " + body.toString().strip());
            }
        }

        @Override
        public void onClosed(Throwable cause, long nanos) {
            answer.complete("GET " + READY_PATH + ": connection closed" + (cause == null ? "" : ": " + cause));
        }
    }
}
