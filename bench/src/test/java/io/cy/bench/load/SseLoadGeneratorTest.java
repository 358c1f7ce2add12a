package io.cy.bench.load;

import static io.cy.bench.load.SseEvents.chunks;
import static io.cy.bench.load.SseEvents.done;
import static io.cy.bench.load.SseEvents.event;
import static io.cy.bench.load.SseEvents.role;
import static io.cy.bench.load.SseEvents.text;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.cy.bridge.BridgeConfig;
import io.cy.bridge.HttpBridge;
import io.cy.coordinator.transport.netty.Endpoint;
import io.cy.coordinator.transport.netty.NettyTransport;
import io.cy.sim.SimConfig;
import io.cy.sim.SimulatedSidecar;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP/SSE mode's accounting against the real HTTP bridge in front of a real simulated
 * sidecar, and against a scripted server for the streams the bridge never sends.
 */
class SseLoadGeneratorTest {

    private static final Duration LONG = Duration.ofSeconds(30);
    /** Required by the sim only in the test that configures it; sent by every readiness check. */
    private static final String TOKEN = "s3cret";

    private final NettyTransport transport = NettyTransport.create(2, "test-load");
    private final NettyTransport bridgeTransport = NettyTransport.create(2, "test-bridge");
    private SimulatedSidecar sim;
    private ManagedChannel upstream;
    private HttpBridge bridge;
    private HttpServer scripted;
    private HttpConnections connections;

    @AfterEach
    void stop() throws InterruptedException {
        if (connections != null) {
            connections.close();
        }
        if (bridge != null) {
            bridge.close();
        }
        if (scripted != null) {
            scripted.stop(0);
        }
        if (upstream != null) {
            upstream.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (sim != null) {
            sim.close();
        }
        bridgeTransport.close();
        transport.close();
    }

    /** The bridge on an ephemeral port, calling the sim directly as its AiInference upstream. */
    private SseLoadGenerator throughBridge(SimConfig.Builder config, int maxConnections) throws Exception {
        sim = SimulatedSidecar.start(config.listen("127.0.0.1:0").build());
        upstream = bridgeTransport.channelBuilder(sim.endpoint()).directExecutor().build();
        bridge = HttpBridge.start(BridgeConfig.defaults().withListen(Endpoint.tcp("127.0.0.1", 0)), upstream,
                bridgeTransport);
        connections = HttpConnections.open(transport, HttpTarget.parse("http://127.0.0.1:" + bridge.port()),
                maxConnections);
        final SseLoadGenerator generator = new SseLoadGenerator(connections);
        assertThat(generator.awaitReady(Duration.ofSeconds(10), TOKEN)).isNull();
        return generator;
    }

    private static LoadPlan closed(int concurrency, long calls, int tokens, Map<String, String> extra, String token) {
        return new LoadPlan(concurrency, calls, LONG, 0, LoadPlan.request("sim", 32, tokens, extra), tokens, token,
                LONG);
    }

    @Test
    void closedLoopCountsEveryCallAndChunk() throws Exception {
        final SseLoadGenerator generator = throughBridge(SimConfig.builder(), 8);

        final LoadResult result = generator.run(closed(8, 200, 5, Map.of(), null));

        assertThat(result.started()).isEqualTo(200);
        assertThat(result.succeeded()).isEqualTo(200);
        assertThat(result.errors()).isEmpty();
        assertThat(result.chunks()).isEqualTo(1000);
        assertThat(result.ttfc().getTotalCount()).isEqualTo(200);
        assertThat(result.gaps().getTotalCount()).isEqualTo(800);
        assertThat(result.callTimes().getTotalCount()).isEqualTo(200);
        assertThat(result.callsPerSecond()).isEqualTo(200 / result.elapsedSeconds());
        assertThat(sim.stats().callsSucceeded()).isEqualTo(200);
        assertThat(sim.stats().maxInflight()).isLessThanOrEqualTo(8);
        // Kept alive: at most one connection per worker carried all 200 calls (fewer if the first
        // calls end before the last worker starts).
        assertThat(connections.openCount()).isBetween(1, 8);
        assertThat(sim.stats().lastRequest().getGeneration().getMaxNewTokens()).isEqualTo(5);
    }

    @Test
    void thePlansPacingReachesTheSidecar() throws Exception {
        final SseLoadGenerator generator = throughBridge(SimConfig.builder(), 1);

        final LoadResult result = generator.run(closed(1, 2, 3, LoadPlan.simPacing(200, 0), null));

        assertThat(result.succeeded()).isEqualTo(2);
        assertThat(result.ttfc().getMinValue()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(200));
        assertThat(sim.stats().lastRequest().getMetadata().getExtraMap()).containsEntry("sim.ttft_ms", "200");
    }

    @Test
    void errorsAreCountedByHttpStatus() throws Exception {
        final SseLoadGenerator generator = throughBridge(SimConfig.builder().internalToken(TOKEN), 2);

        final LoadResult good = generator.run(closed(2, 10, 2, Map.of(), TOKEN));
        final LoadResult bad = generator.run(closed(2, 10, 2, Map.of(), "wrong"));
        final LoadResult none = generator.run(closed(2, 10, 2, Map.of(), null));

        assertThat(good.succeeded()).isEqualTo(10);
        assertThat(good.errors()).isEmpty();
        assertThat(bad.succeeded()).isZero();
        assertThat(bad.errors()).containsExactly(Map.entry("http_401", 10L));
        assertThat(bad.firstError()).startsWith("http_401: ");
        assertThat(none.errors()).containsExactly(Map.entry("http_401", 10L));
        assertThat(bad.callTimes().getTotalCount()).isZero();
    }

    @Test
    void aFailureBeforeTheFirstTokenIsItsHttpStatus() throws Exception {
        final SseLoadGenerator generator = throughBridge(SimConfig.builder(), 4);

        final LoadResult result = generator.run(closed(4, 40, 5,
                Map.of("sim.fail", "RESOURCE_EXHAUSTED", "sim.fail_after", "0"), null));

        assertThat(result.started()).isEqualTo(40);
        assertThat(result.errors()).containsExactly(Map.entry("http_429", 40L));
        assertThat(result.firstError()).isEqualTo("http_429: simulated RESOURCE_EXHAUSTED after 0 chunks");
        assertThat(result.chunks()).isZero();
    }

    @Test
    void aFailureAfterTheFirstTokenIsAnErrorEvent() throws Exception {
        final SseLoadGenerator generator = throughBridge(SimConfig.builder(), 4);

        final LoadResult result = generator.run(closed(4, 40, 5,
                Map.of("sim.fail", "UNAVAILABLE", "sim.fail_after", "2"), null));

        assertThat(result.succeeded()).isZero();
        assertThat(result.errors()).containsExactly(Map.entry(SseCall.ERROR_EVENT, 40L));
        assertThat(result.firstError()).isEqualTo("error_event: simulated UNAVAILABLE after 2 chunks");
        assertThat(result.chunks()).isEqualTo(80);
    }

    @Test
    void openLoopStartsEveryScheduledCall() throws Exception {
        final SseLoadGenerator generator = throughBridge(SimConfig.builder(), 50);

        final LoadResult result = generator.run(new LoadPlan(50, 100, LONG, 1000,
                LoadPlan.request("sim", 32, 3, Map.of()), 3, null, LONG));

        assertThat(result.started()).isEqualTo(100);
        assertThat(result.succeeded()).isEqualTo(100);
        // Call 99 is due 99 ms after the start.
        assertThat(result.elapsedNanos()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(99));
        assertThat(sim.stats().callsStarted()).isEqualTo(100);
    }

    @Test
    void callsStillOpenAfterTheDrainTimeoutAreUnfinished() throws Exception {
        final SseLoadGenerator generator = throughBridge(SimConfig.builder(), 3);

        final LoadResult result = generator.run(new LoadPlan(3, 3, Duration.ofMillis(500), 0,
                LoadPlan.request("sim", 32, 5, Map.of("sim.stall_after", "1")), 5, null, Duration.ZERO));

        assertThat(result.errors()).containsExactly(Map.entry(LoadRun.UNFINISHED, 3L));
        assertThat(result.chunks()).isEqualTo(3);
        // Closing the connection is the HTTP client's cancel: the bridge cancels the sidecar's call.
        assertThat(sim.stats().awaitCancelled(3, Duration.ofSeconds(5))).isTrue();
    }

    @Test
    void notReadyWhenNothingListens() throws Exception {
        final int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        connections = HttpConnections.open(transport, HttpTarget.parse("http://127.0.0.1:" + port), 1);

        assertThat(new SseLoadGenerator(connections).awaitReady(Duration.ofSeconds(10), null))
                .startsWith("cannot connect to http://127.0.0.1:" + port + ": ");
    }

    @Test
    void malformedStreamsAreErrorsEvenWhenTheyEndWell() throws Exception {
        assertThat(againstScript(2, n -> chunks(n, 2) + done()).errors()).isEmpty();
        assertThat(againstScript(2, n -> chunks(n, 3) + done()).firstError())
                .isEqualTo("bad_stream: 3 content chunks (expected: 2)");
        assertThat(againstScript(2, n -> chunks(n, 1) + done()).firstError())
                .isEqualTo("bad_stream: 1 content chunks (expected: 2)");
        assertThat(againstScript(2, n -> chunks(n, 2)).firstError())
                .isEqualTo("bad_stream: no data: [DONE] after 2 content chunks");
        assertThat(againstScript(2, n -> chunks(n, 2) + done() + event(text(n))).firstError())
                .startsWith("bad_stream: event 6 after [DONE]: ");
        assertThat(againstScript(2, n -> event(role(n)) + event(text(n)) + event(text(n)) + done()).firstError())
                .isEqualTo("bad_stream: no chunk with finish_reason after 2 content chunks");
    }

    @Test
    void malformedStreamsAreCountedPerCall() throws Exception {
        final LoadResult result = againstScript(2, n -> chunks(n, 2) + "data: {\"truncated\n\n" + done());

        assertThat(result.started()).isEqualTo(6);
        assertThat(result.succeeded()).isZero();
        assertThat(result.errors()).containsExactly(Map.entry(LoadRun.BAD_STREAM, 6L));
        // The chunks before the broken event were timed like any others.
        assertThat(result.chunks()).isEqualTo(12);
        assertThat(result.firstError()).startsWith("bad_stream: event 5: not JSON: ");
    }

    /** Six calls, two at a time, of {@code expected} tokens against a server answering call n with {@code body}. */
    private LoadResult againstScript(int expected, IntFunction<String> body) throws Exception {
        if (scripted != null) {
            scripted.stop(0);
            connections.close();
        }
        final int[] calls = {0};
        scripted = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        scripted.createContext("/readyz", exchange -> {
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        scripted.createContext("/v1/chat/completions", exchange -> {
            exchange.getRequestBody().readAllBytes();
            final byte[] bytes;
            synchronized (calls) {
                bytes = body.apply(calls[0]++).getBytes(UTF_8);
            }
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            exchange.sendResponseHeaders(200, 0);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        scripted.start();
        connections = HttpConnections.open(transport,
                HttpTarget.parse("http://127.0.0.1:" + scripted.getAddress().getPort()), 2);
        final SseLoadGenerator generator = new SseLoadGenerator(connections);
        assertThat(generator.awaitReady(Duration.ofSeconds(10), null)).isNull();
        return generator.run(closed(2, 6, expected, Map.of(), null));
    }
}
