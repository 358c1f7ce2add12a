package io.cy.bench.load;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;

/**
 * Runs streamed chat completions ({@code POST /v1/chat/completions}, {@code stream: true}) against
 * an OpenAI-compatible HTTP API such as the coordinator's bridge: the same plans, pacing and
 * accounting as the gRPC {@link LoadGenerator}, so the figures of the two compare. Time to first
 * chunk is to the first event carrying text in {@code delta.content}; the gaps are between such
 * events. Each call in progress holds one HTTP/1.1 connection, opened when no idle one is left
 * and kept alive for the next call.
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
     * Asks {@code GET /readyz} on one connection (with the token: the bridge's readiness asks its
     * upstream with the caller's credential), which stays open for the run. A run opens the rest
     * as its calls need them, up to its concurrency: opening them all here would hold connections
     * a run may never use, and a target's connection limit would fail the check rather than the
     * calls that exceed it.
     */
    @Override
    public String awaitReady(Duration timeout, String token) throws InterruptedException {
        requireNonNull(timeout, "timeout");
        return new HttpReadyCheck(connections, readyRequest(token)).ask(timeout);
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
}
