package io.cy.coordinator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Ejection after consecutive failures, its growing and capped time, the percent cap, and the pick skipping it. */
class OutlierDetectorTest {

    private static final Instant WALL = Instant.parse("2026-01-01T00:00:00Z");
    private static final long SECOND = 1_000_000_000L;

    private final TestSidecars made = new TestSidecars();
    // Starts far from 0, as System.nanoTime() may.
    private final AtomicLong now = new AtomicLong(-5 * SECOND);

    @AfterEach
    void close() {
        made.close();
    }

    private OutlierDetector detector(int failures, int percent) {
        return new OutlierDetector(new OutlierSettings(failures, Duration.ofSeconds(10), Duration.ofSeconds(25),
                percent, 20), now::get, Clock.fixed(WALL, ZoneOffset.UTC));
    }

    private static void fail(OutlierDetector detector, Sidecar sidecar, List<Sidecar> members, int times) {
        for (int i = 0; i < times; i++) {
            detector.failed(sidecar, members, "UNAVAILABLE");
        }
    }

    private boolean ejected(Sidecar sidecar) {
        return sidecar.outlier().isEjected(now.get());
    }

    @Test
    void ejectsAfterTheConfiguredRunOfFailuresAndNotBefore() {
        final List<Sidecar> members = made.sidecars("a", 2);
        final OutlierDetector detector = detector(5, 50);

        fail(detector, members.get(0), members, 4);
        assertThat(ejected(members.get(0))).isFalse();

        assertThat(detector.failed(members.get(0), members, "UNAVAILABLE")).isTrue();
        assertThat(ejected(members.get(0))).isTrue();
        assertThat(members.get(0).lastEjectionReason()).isEqualTo("5 consecutive failures: UNAVAILABLE");
        assertThat(members.get(0).outlier().ejection(now.get()).until()).isEqualTo(WALL.plusSeconds(10));
    }

    @Test
    void aSuccessStartsTheRunAgain() {
        final List<Sidecar> members = made.sidecars("b", 2);
        final OutlierDetector detector = detector(3, 50);

        fail(detector, members.get(0), members, 2);
        detector.succeeded(members.get(0));
        fail(detector, members.get(0), members, 2);

        assertThat(ejected(members.get(0))).isFalse();
        fail(detector, members.get(0), members, 1);
        assertThat(ejected(members.get(0))).isTrue();
    }

    @Test
    void comesBackWhenTheTimeIsUpAndTheNextEjectionLastsLongerUpToTheMaximum() {
        final List<Sidecar> members = made.sidecars("c", 2);
        final Sidecar sidecar = members.get(0);
        final OutlierDetector detector = detector(1, 50);

        detector.failed(sidecar, members, "INTERNAL");
        now.addAndGet(10 * SECOND - 1);
        assertThat(ejected(sidecar)).isTrue();
        now.addAndGet(1);
        assertThat(ejected(sidecar)).as("back after base_ejection_time").isFalse();

        // second ejection: 2 x 10 s
        detector.failed(sidecar, members, "INTERNAL");
        now.addAndGet(20 * SECOND - 1);
        assertThat(ejected(sidecar)).isTrue();
        now.addAndGet(1);
        assertThat(ejected(sidecar)).isFalse();

        // third: 3 x 10 s capped at 25 s
        detector.failed(sidecar, members, "INTERNAL");
        now.addAndGet(25 * SECOND);
        assertThat(ejected(sidecar)).isFalse();
    }

    @Test
    void theEjectionTimeStartsAgainAfterAQuietMaximum() {
        final List<Sidecar> members = made.sidecars("d", 2);
        final Sidecar sidecar = members.get(0);
        final OutlierDetector detector = detector(1, 50);

        detector.failed(sidecar, members, "INTERNAL");
        now.addAndGet(10 * SECOND);
        // in rotation for max_ejection_time
        now.addAndGet(25 * SECOND);
        detector.failed(sidecar, members, "INTERNAL");

        now.addAndGet(10 * SECOND);
        assertThat(ejected(sidecar)).as("base time again, not twice it").isFalse();
    }

    @Test
    void thePercentCapHoldsAndOneMayAlwaysBeEjected() {
        final List<Sidecar> four = made.sidecars("e", 4);
        final OutlierDetector half = detector(1, 50);
        four.forEach(sidecar -> fail(half, sidecar, four, 3));
        assertThat(four.stream().filter(this::ejected)).hasSize(2);

        final List<Sidecar> three = made.sidecars("f", 3);
        final OutlierDetector tenPercent = detector(1, 10);
        three.forEach(sidecar -> fail(tenPercent, sidecar, three, 3));
        assertThat(three.stream().filter(this::ejected)).as("one even below the percent").hasSize(1);

        final List<Sidecar> one = made.sidecars("g", 1);
        fail(half, one.get(0), one, 1);
        assertThat(ejected(one.get(0))).as("a backend of one").isTrue();
    }

    @Test
    void aPercentOfZeroTurnsEjectionOff() {
        final List<Sidecar> members = made.sidecars("h", 2);
        final OutlierDetector off = detector(1, 0);

        fail(off, members.get(0), members, 10);

        assertThat(ejected(members.get(0))).isFalse();
    }

    @Test
    void whenTheCapIsFreedTheNextFailureEjects() {
        final List<Sidecar> members = made.sidecars("i", 2);
        final OutlierDetector detector = detector(2, 50);
        fail(detector, members.get(0), members, 2);
        fail(detector, members.get(1), members, 2);
        assertThat(ejected(members.get(1))).as("held by the cap").isFalse();

        now.addAndGet(10 * SECOND);
        fail(detector, members.get(1), members, 1);

        assertThat(ejected(members.get(0))).isFalse();
        assertThat(ejected(members.get(1))).isTrue();
    }

    @Test
    void everyPolicySkipsAnEjectedSidecarEvenAsALastResort() {
        final List<Sidecar> members = made.sidecars("j", 2);
        new OutlierDetector(new OutlierSettings(1, Duration.ofMinutes(1), Duration.ofMinutes(1), 100, 20))
                .failed(members.get(0), members, "UNAVAILABLE");
        final RoutingKey key = new RoutingKey("tenant", "User: Hello", "");

        for (Balance balance : Balance.values()) {
            final SidecarRouter router = SidecarRouters.create(new BalanceSettings(balance, 64, 8));
            for (int i = 0; i < 10; i++) {
                assertThat(router.pick(members, List.of(), key)).as(balance.configName()).isSameAs(members.get(1));
            }
            assertThat(router.pick(members, List.of(members.get(1)), key)).as(balance.configName()).isNull();
        }
    }
}
