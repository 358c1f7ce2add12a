package io.cy.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.sim.SimStats;
import io.cy.sim.SimulatedSidecar;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The idle timeout ({@code --idle-timeout}): a keep-alive connection without requests is closed
 * after it, and so is one whose client stopped reading, which cancels its upstream call; a
 * stream that keeps writing, or waits on its upstream, is not cut however long it runs.
 */
class IdleTimeoutTest {

    private static final Duration LIMIT = Duration.ofMillis(400);
    private static final Duration WAIT = Duration.ofSeconds(15);

    private SimUpstream upstream;
    private SimulatedSidecar sim;
    private BridgeFixture fixture;

    @BeforeEach
    void start() throws Exception {
        upstream = SimUpstream.start();
        sim = upstream.sim;
        fixture = new BridgeFixture(upstream.channel, c -> c.withIdleTimeout(LIMIT));
    }

    @AfterEach
    void stop() {
        fixture.close();
        upstream.close();
    }

    @Test
    void aKeepAliveConnectionWithoutRequestsIsClosedAfterTheLimit() throws Exception {
        try (RawHttp http = fixture.raw()) {
            assertThat(http.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").readResponse().status()).isEqualTo(200);
            final long answered = System.nanoTime();

            assertThat(http.closedByServer()).isTrue();
            // Not at once: the limit counts from the answer's write, a little before it was read here.
            assertThat(Duration.ofNanos(System.nanoTime() - answered)).isGreaterThan(LIMIT.dividedBy(2));
        }
    }

    @Test
    void aStreamSlowerThanTheLimitIsNotCut() throws Exception {
        // 0.7 s before the first token with nothing to write, then 0.15 s between tokens: 1.5 s in all.
        try (RawHttp http = fixture.raw()) {
            http.send(RawHttp.post("/v1/chat/completions", "{\"model\":\"sim\",\"stream\":true,\"max_tokens\":6,"
                    + "\"metadata\":{\"sim.ttft_ms\":\"700\",\"sim.gap_ms\":\"150\"},"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));
            final RawHttp.Head head = http.readHead();
            assertThat(head.status()).isEqualTo(200);
            final RawHttp.Completion completion = http.readCompletion(head);
            assertThat(completion.contents()).isEqualTo(6);
            assertThat(completion.last()).isEqualTo("data: [DONE]");
            assertThat(sim.stats().callsSucceeded()).isEqualTo(1);
        }
    }

    @Test
    void aClientThatStoppedReadingIsClosedAndItsUpstreamCallCancelled() throws Exception {
        try (RawHttp http = new RawHttp(fixture.port(), 4096)) {
            http.send(RawHttp.post("/v1/chat/completions", "{\"model\":\"sim\",\"stream\":true,\"max_tokens\":2000,"
                    + "\"metadata\":{\"sim.chunk_bytes\":\"16384\"},"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));

            // Reading nothing: the buffers fill, the bridge stops writing, and a limit later it gives up.
            final SimStats stats = sim.stats();
            assertThat(stats.awaitPushback(WAIT)).as("sidecar held back: %s", stats).isTrue();
            assertThat(stats.awaitCancelled(1, WAIT)).as("sidecar saw the cancel: %s", stats).isTrue();
            assertThat(stats.callsSucceeded()).isZero();
        }
    }
}
