package io.cy.coordinator.sidecar;

import static io.cy.coordinator.sidecar.TestSidecars.busy;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LeastLatencyRouterTest {

    private static final long MS = 1_000_000;

    private final TestSidecars fixtures = new TestSidecars();
    private final LeastLatencyRouter router = new LeastLatencyRouter();

    @AfterEach
    void close() {
        fixtures.close();
    }

    /** A sidecar whose averages are {@code firstTokenMs} and {@code perTokenMs} (one call of 11 tokens). */
    private Sidecar measured(String name, double firstTokenMs, double perTokenMs) {
        final Sidecar sidecar = fixtures.sidecar(name);
        sidecar.latency().record((long) (firstTokenMs * MS), 11, (long) (perTokenMs * 10 * MS));
        return sidecar;
    }

    private Sidecar pick(List<Sidecar> sidecars) {
        return router.pick(sidecars, List.of(), RoutingKey.NONE);
    }

    @Test
    void theLowestExpectedTimeWins() {
        final Sidecar slow = measured("slow", 40, 5);
        final Sidecar fast = measured("fast", 20, 5);

        assertThat(pick(List.of(slow, fast))).isSameAs(fast);
    }

    @Test
    void timePerTokenCountsForNominalTokens() {
        // 10 + 32 × 2 = 74 ms against 30 + 32 × 1 = 62 ms
        final Sidecar quickStart = measured("quick-start", 10, 2);
        final Sidecar quickStream = measured("quick-stream", 30, 1);

        assertThat(pick(List.of(quickStart, quickStream))).isSameAs(quickStream);
        assertThat(LeastLatencyRouter.score(10 * MS, 2 * MS, 0)).isEqualTo(74.0 * MS);
    }

    @Test
    void callsInFlightWeighTheScore() {
        final Sidecar fast = measured("fast", 20, 0);
        final Sidecar slow = measured("slow", 50, 0);

        busy(fast, 2);
        assertThat(pick(List.of(fast, slow))).as("60 against 50 ms").isSameAs(slow);
        fast.release();
        assertThat(pick(List.of(fast, slow))).as("40 against 50 ms").isSameAs(fast);
    }

    @Test
    void aSidecarWithoutSamplesGetsACallWheneverItHasNoneInFlight() {
        final Sidecar measured = measured("measured", 5, 1);
        final Sidecar fresh = fixtures.sidecar("fresh");

        assertThat(pick(List.of(measured, fresh))).isSameAs(fresh);

        busy(fresh, 1);
        assertThat(pick(List.of(measured, fresh))).as("not flooded before its first answer").isSameAs(measured);

        fresh.latency().record(50 * MS, 1, 0);
        fresh.release();
        assertThat(pick(List.of(measured, fresh))).as("measured now, and slower").isSameAs(measured);
    }

    @Test
    void withNoSamplesAndEveryoneBusyTheLeastLoadedDecides() {
        final Sidecar a = fixtures.sidecar("a");
        final Sidecar b = fixtures.sidecar("b");
        busy(a, 2);
        busy(b, 1);

        assertThat(pick(List.of(a, b))).isSameAs(b);
    }

    @Test
    void availabilityRulesApply() {
        final Sidecar fastest = measured("fastest", 1, 0);
        final Sidecar slower = measured("slower", 10, 0);
        final List<Sidecar> both = List.of(fastest, slower);

        assertThat(router.pick(both, List.of(fastest), RoutingKey.NONE)).isSameAs(slower);
        fastest.setDraining(true);
        assertThat(pick(both)).isSameAs(slower);
        fastest.setDraining(false);
        fastest.markUnreachable("connection refused");
        assertThat(pick(both)).isSameAs(slower);
        assertThat(router.pick(both, List.of(slower), RoutingKey.NONE)).as("the last resort").isSameAs(fastest);
        slower.setDraining(true);
        fastest.recordTokenRefused("refused the internal token");
        assertThat(pick(both)).isNull();
    }
}
