package io.cy.bench.load;

import static io.cy.bench.load.SseEvents.chunks;
import static io.cy.bench.load.SseEvents.done;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The readiness check's use of the pool, against a scripted server on a real socket. */
class SseReadinessTest {

    private static final Duration LONG = Duration.ofSeconds(30);

    private final ScriptedPool pool = new ScriptedPool(1, "test-ready");

    @AfterEach
    void stop() throws Exception {
        pool.close();
    }

    private SseLoadGenerator against(ScriptedHttpServer.Script script, int maxConnections) throws Exception {
        return new SseLoadGenerator(pool.open(script, maxConnections));
    }

    private static void readyOrChat(ScriptedHttpServer.Request request, ScriptedHttpServer.Peer peer)
            throws IOException {
        if (request.target().equals(SseLoadGenerator.READY_PATH)) {
            peer.answer(200, null, "");
        } else {
            peer.answer(200, "text/event-stream", chunks(0, 2) + done());
        }
    }

    @Test
    void theCheckUsesOneConnectionAndARunOpensOnlyWhatItsCallsNeed() throws Exception {
        final SseLoadGenerator generator = against(SseReadinessTest::readyOrChat, 8);

        assertThat(generator.awaitReady(LONG, null)).isNull();

        assertThat(pool.server().accepted()).isEqualTo(1);
        assertThat(pool.connections().openCount()).isEqualTo(1);
        final LoadResult result = generator.run(new LoadPlan(3, 12, LONG, 0,
                LoadPlan.request("sim", 32, 2, Map.of()), 2, null, LONG));
        assertThat(result.succeeded()).isEqualTo(12);
        // Bounded by the run's concurrency, not by the pool's 8; the checked connection among them.
        assertThat(pool.server().accepted()).isBetween(1, 3);
        assertThat(pool.connections().openCount()).isEqualTo(pool.server().accepted());
    }

    @Test
    void aConnectFinishingAfterTheCheckGaveUpIsClosedAndUncounted() throws Exception {
        // Nothing is answered on the first connection, so the check cannot have its answer (and
        // give that connection back to the pool) however slowly the test thread runs.
        final SseLoadGenerator generator = against((request, peer) -> {
            if (peer.index() > 0) {
                readyOrChat(request, peer);
            }
        }, 1);

        // Gives up at once: mostly before the connect (on another thread) has finished, else
        // with its question sent and unanswered.
        assertThat(generator.awaitReady(Duration.ZERO, null)).isEqualTo("GET /readyz: no answer within 0 ms");

        assertThat(pool.server().peer(0).awaitClosedByClient()).isTrue();
        // Still counted, it would fill this pool of one and fail the next check.
        assertThat(generator.awaitReady(LONG, null)).isNull();
        assertThat(pool.server().accepted()).isEqualTo(2);
        assertThat(pool.connections().openCount()).isEqualTo(1);
    }

    @Test
    void aNotReadyAnswerSaysWhyAndGivesTheConnectionBack() throws Exception {
        final AtomicInteger checks = new AtomicInteger();
        final SseLoadGenerator generator = against((request, peer) -> {
            if (checks.getAndIncrement() == 0) {
                peer.answer(503, "text/plain", "upstream: UNAVAILABLE\n");
            } else {
                peer.answer(200, null, "");
            }
        }, 1);

        assertThat(generator.awaitReady(LONG, "t0ken")).isEqualTo("GET /readyz: 503 upstream: UNAVAILABLE");
        assertThat(generator.awaitReady(LONG, "t0ken")).isNull();

        assertThat(pool.server().accepted()).isEqualTo(1);
        assertThat(pool.server().peer(0).requests()).isEqualTo(2);
    }
}
