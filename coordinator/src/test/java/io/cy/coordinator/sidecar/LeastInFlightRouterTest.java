package io.cy.coordinator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.cy.coordinator.transport.netty.Endpoint;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Routing among real {@link Sidecar}s whose channels never need to connect. */
class LeastInFlightRouterTest {

    private static final int PICKS = 300;

    private final List<ManagedChannel> channels = new ArrayList<>();
    private final LeastInFlightRouter router = new LeastInFlightRouter();

    @AfterEach
    void closeChannels() {
        channels.forEach(ManagedChannel::shutdownNow);
    }

    private Sidecar sidecar(String name) {
        return sidecar(name, 2, 2);
    }

    private Sidecar sidecar(String name, int unhealthyThreshold, int healthyThreshold) {
        final ManagedChannel channel = InProcessChannelBuilder.forName("router-test-" + name).directExecutor().build();
        channels.add(channel);
        return new Sidecar(Endpoint.unix(Path.of("/tmp/" + name + ".sock")), channel,
                unhealthyThreshold, healthyThreshold);
    }

    private static void busy(Sidecar sidecar, int calls) {
        for (int i = 0; i < calls; i++) {
            sidecar.acquire();
        }
    }

    /** How often each sidecar is picked in {@code PICKS} picks (null counted under "null"). */
    private Map<String, Integer> pickMany(List<Sidecar> sidecars, List<Sidecar> tried) {
        final Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < PICKS; i++) {
            final Sidecar picked = router.pick(sidecars, tried, RoutingKey.NONE);
            counts.merge(picked == null ? "null" : picked.toString(), 1, Integer::sum);
        }
        return counts;
    }

    @Nested
    class Choice {

        @Test
        void theSidecarWithTheFewestCallsInFlightWins() {
            final Sidecar a = sidecar("a");
            final Sidecar b = sidecar("b");
            final Sidecar c = sidecar("c");
            busy(a, 3);
            busy(b, 1);
            busy(c, 2);

            assertThat(pickMany(List.of(a, b, c), List.of())).containsOnlyKeys(b.toString());
        }

        @Test
        void equalsRotateSoAnIdlePoolSpreadsCalls() {
            final Sidecar a = sidecar("a");
            final Sidecar b = sidecar("b");
            final Sidecar c = sidecar("c");

            final Map<String, Integer> counts = pickMany(List.of(a, b, c), List.of());

            assertThat(counts).containsOnlyKeys(a.toString(), b.toString(), c.toString());
            assertThat(counts.values()).allSatisfy(n -> assertThat(n).isBetween(PICKS / 3 - 10, PICKS / 3 + 10));
        }

        @Test
        void rotationOnlyAmongTheLeastBusy() {
            final Sidecar a = sidecar("a");
            final Sidecar b = sidecar("b");
            final Sidecar c = sidecar("c");
            busy(b, 1);

            final Map<String, Integer> counts = pickMany(List.of(a, b, c), List.of());

            assertThat(counts).containsOnlyKeys(a.toString(), c.toString());
            assertThat(counts.values()).allSatisfy(n -> assertThat(n).isGreaterThanOrEqualTo(PICKS / 4));
        }

        @Test
        void callsCountedThroughThePoolSteerTheNextPick() {
            final Sidecar a = sidecar("a");
            final Sidecar b = sidecar("b");
            final SidecarPool pool = new SidecarPool(List.of(a, b), router);

            final Sidecar first = pool.acquire(List.of(), RoutingKey.NONE);
            final Sidecar second = pool.acquire(List.of(), RoutingKey.NONE);

            assertThat(second).isNotSameAs(first);
            assertThat(a.inflight()).isEqualTo(1);
            assertThat(b.inflight()).isEqualTo(1);

            first.release();
            assertThat(pool.acquire(List.of(), RoutingKey.NONE)).isSameAs(first);
            assertThat(first.inflight()).isEqualTo(1);
        }
    }

    @Nested
    class Exclusions {

        @Test
        void aDrainingSidecarGetsNoNewCallsEvenWhenIdle() {
            final Sidecar a = sidecar("a");
            final Sidecar b = sidecar("b");
            busy(a, 5);
            b.setDraining(true);

            assertThat(pickMany(List.of(a, b), List.of())).containsOnlyKeys(a.toString());
            assertThat(b.isAvailable()).isFalse();
        }

        @Test
        void aSidecarAlreadyTriedForThisCallIsNotPickedAgain() {
            final Sidecar a = sidecar("a");
            final Sidecar b = sidecar("b");
            busy(b, 5);

            assertThat(pickMany(List.of(a, b), List.of(a))).containsOnlyKeys(b.toString());
            assertThat(pickMany(List.of(a, b), List.of(a, b))).containsOnlyKeys("null");
        }

        @Test
        void anUnhealthySidecarIsSkippedWhileAHealthyOneRemains() {
            final Sidecar a = sidecar("a");
            final Sidecar b = sidecar("b");
            busy(b, 5);

            a.markUnreachable("connection refused");

            assertThat(a.isHealthy()).isFalse();
            assertThat(pickMany(List.of(a, b), List.of())).containsOnlyKeys(b.toString());
        }

        @Test
        void unhealthySidecarsAreTriedWhenNothingElseIsLeft() {
            final Sidecar a = sidecar("a");
            final Sidecar b = sidecar("b");
            final Sidecar c = sidecar("c");
            a.markUnreachable("connection refused");
            b.markUnreachable("connection refused");
            c.setDraining(true);

            final Map<String, Integer> counts = pickMany(List.of(a, b, c), List.of());

            assertThat(counts).containsOnlyKeys(a.toString(), b.toString());
            assertThat(router.pick(List.of(a, b, c), List.of(a), RoutingKey.NONE)).isSameAs(b);
            assertThat(router.pick(List.of(a, b, c), List.of(a, b), RoutingKey.NONE)).isNull();
        }

        @Test
        void aSidecarThatRefusedTheInternalTokenIsNotTriedEvenWhenNothingElseIsLeft() {
            final Sidecar a = sidecar("a");
            final Sidecar b = sidecar("b");
            b.markUnreachable("connection refused");

            assertThat(a.recordTokenRefused("refused the internal token")).as("out at once").isTrue();

            assertThat(a.isHealthy()).isFalse();
            assertThat(a.reason()).isEqualTo("refused the internal token");
            assertThat(pickMany(List.of(a, b), List.of())).containsOnlyKeys(b.toString());
            assertThat(router.pick(List.of(a), List.of(), RoutingKey.NONE)).isNull();
        }

        @Test
        void aSidecarThatAcceptsTheTokenAgainRejoinsAfterTheUsualGoodProbes() {
            final Sidecar a = sidecar("a");
            a.recordTokenRefused("refused the internal token");

            assertThat(a.recordProbe(true, "")).isFalse();
            assertThat(a.refusesToken()).as("accepted by the last probe").isFalse();
            assertThat(a.recordProbe(true, "")).as("healthy again after healthy_threshold probes").isTrue();
            assertThat(a.reason()).isEmpty();
            assertThat(router.pick(List.of(a), List.of(), RoutingKey.NONE)).isSameAs(a);
        }

        @Test
        void allDrainingMeansNoSidecar() {
            final Sidecar a = sidecar("a");
            final Sidecar b = sidecar("b");
            a.setDraining(true);
            b.setDraining(true);
            b.markUnreachable("connection refused");

            assertThat(pickMany(List.of(a, b), List.of())).containsOnlyKeys("null");

            final SidecarPool pool = new SidecarPool(List.of(a, b), router);
            assertThat(pool.acquire(List.of(), RoutingKey.NONE)).isNull();
            assertThat(a.inflight()).isZero();
            assertThat(pool.availableCount()).isZero();
        }

        @Test
        void undrainingPutsASidecarBackInRotation() {
            final Sidecar a = sidecar("a");
            final Sidecar b = sidecar("b");
            a.setDraining(true);
            assertThat(pickMany(List.of(a, b), List.of())).containsOnlyKeys(b.toString());

            a.setDraining(false);

            assertThat(pickMany(List.of(a, b), List.of())).containsOnlyKeys(a.toString(), b.toString());
        }
    }

    @Nested
    class ProbeHysteresis {

        @Test
        void itTakesUnhealthyThresholdFailedProbesInARowToTakeASidecarOut() {
            final Sidecar s = sidecar("s", 3, 2);

            assertThat(s.recordProbe(false, "probe")).isFalse();
            assertThat(s.recordProbe(false, "probe")).isFalse();
            assertThat(s.isHealthy()).isTrue();
            assertThat(s.recordProbe(false, "probe")).as("third failure changes the state").isTrue();
            assertThat(s.isHealthy()).isFalse();
            assertThat(s.isAvailable()).isFalse();
            assertThat(s.recordProbe(false, "probe")).as("already unhealthy: no change").isFalse();
        }

        @Test
        void aGoodProbeBreaksAFailureStreak() {
            final Sidecar s = sidecar("s", 2, 2);

            s.recordProbe(false, "probe");
            s.recordProbe(true, "probe");
            assertThat(s.recordProbe(false, "probe")).isFalse();

            assertThat(s.isHealthy()).isTrue();
        }

        @Test
        void itTakesHealthyThresholdGoodProbesInARowToPutItBack() {
            final Sidecar s = sidecar("s", 1, 3);
            assertThat(s.recordProbe(false, "probe")).isTrue();

            assertThat(s.recordProbe(true, "probe")).isFalse();
            assertThat(s.recordProbe(true, "probe")).isFalse();
            assertThat(s.recordProbe(false, "probe")).isFalse();
            assertThat(s.recordProbe(true, "probe")).isFalse();
            assertThat(s.recordProbe(true, "probe")).isFalse();
            assertThat(s.isHealthy()).as("the failure restarted the streak").isFalse();
            assertThat(s.recordProbe(true, "probe")).isTrue();
            assertThat(s.isHealthy()).isTrue();
            assertThat(s.recordProbe(true, "probe")).as("already healthy: no change").isFalse();
        }

        @Test
        void anUnreachableSidecarIsOutAtOnceAndNeedsHealthyThresholdProbesToReturn() {
            final Sidecar s = sidecar("s", 5, 2);

            s.markUnreachable("connection refused");

            assertThat(s.isHealthy()).isFalse();
            assertThat(s.recordProbe(true, "probe")).isFalse();
            assertThat(s.recordProbe(true, "probe")).isTrue();
            assertThat(s.isHealthy()).isTrue();
        }

        @Test
        void aFailedProbeAfterMarkUnreachableResetsTheRecovery() {
            final Sidecar s = sidecar("s", 2, 2);
            s.markUnreachable("connection refused");
            s.recordProbe(true, "probe");

            assertThat(s.recordProbe(false, "probe")).isFalse();
            assertThat(s.recordProbe(true, "probe")).isFalse();

            assertThat(s.isHealthy()).isFalse();
        }
    }
}
