package io.cy.bridge;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cy.sim.SimulatedSidecar;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Shutting down: open streams finish within the grace period, idle connections close, new ones are refused. */
class ShutdownTest {

    private static final String SLOW_STREAM = "{\"model\":\"sim\",\"stream\":true,\"max_tokens\":10,"
            + "\"metadata\":{\"sim.gap_ms\":\"50\"},\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

    private SimUpstream upstream;
    private SimulatedSidecar sim;
    private BridgeFixture fixture;

    @BeforeEach
    void start() throws Exception {
        upstream = SimUpstream.start();
        sim = upstream.sim;
        fixture = new BridgeFixture(upstream.channel);
    }

    @AfterEach
    void stop() {
        fixture.close();
        upstream.close();
    }

    @Test
    void openStreamFinishesWithinTheGracePeriod() throws Exception {
        try (RawHttp streaming = fixture.raw(); RawHttp idle = fixture.raw()) {
            assertThat(idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").readResponse().status()).isEqualTo(200);
            streaming.send(RawHttp.post("/v1/chat/completions", SLOW_STREAM));
            final RawHttp.Head head = streaming.readHead();
            assertThat(head.status()).isEqualTo(200);

            final CompletableFuture<Void> shutdown =
                    CompletableFuture.runAsync(() -> fixture.bridge.shutdown(Duration.ofSeconds(15)));

            assertThat(idle.closedByServer()).isTrue();
            final String body = new String(streaming.body(head).readAllBytes(), UTF_8);
            assertThat(body).endsWith("data: [DONE]\n\n");
            assertThat(streaming.closedByServer()).isTrue(); // no keep-alive while shutting down
            shutdown.get(15, TimeUnit.SECONDS);
            assertThat(sim.stats().callsSucceeded()).isEqualTo(1);
        }
        assertThatThrownBy(fixture::raw).isInstanceOf(ConnectException.class);
    }

    @Test
    void closeCutsOpenStreamsAndCancelsTheirUpstreamCalls() throws Exception {
        try (RawHttp streaming = fixture.raw()) {
            streaming.send(RawHttp.post("/v1/chat/completions", SLOW_STREAM.replace("\"max_tokens\":10", "\"max_tokens\":1000")));
            final RawHttp.Head head = streaming.readHead();
            final BufferedReader events = new BufferedReader(new InputStreamReader(streaming.body(head), UTF_8));
            assertThat(events.readLine()).startsWith("data: ");

            fixture.bridge.close();

            assertThat(sim.stats().awaitCancelled(1, Duration.ofSeconds(15))).as("%s", sim.stats()).isTrue();
            assertThatThrownBy(() -> {
                while (events.readLine() != null) {
                    // the stream ends without [DONE]: the chunked body is cut short
                }
            }).isInstanceOf(IOException.class);
        }
    }
}
